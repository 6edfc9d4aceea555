"""parkit's record class for the object benchmark (imported in parkit
workers only)."""
import parkit


class KRecord(parkit.Object):
    """A shared object declaring eight int attributes a0..a7 (bench.stores.ATTRS)."""

    a0 = 0
    a1 = 0
    a2 = 0
    a3 = 0
    a4 = 0
    a5 = 0
    a6 = 0
    a7 = 0
