"""The ZODB record class of the object benchmark (needs ``persistent``)."""
import persistent

from bench.stores import ATTRS


class ZRecord(persistent.Persistent):
    """A persistent object with eight int attributes a0..a7."""

    def __init__(self) -> None:
        for a in ATTRS:
            setattr(self, a, 0)
