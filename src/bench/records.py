"""The pmemobj record class of the object benchmark (imported in workers
only: importing pmemobj loads libpmem, which reads PMEM_IS_PMEM_FORCE)."""
import pmemobj

from bench.stores import ATTRS


class PRecord(pmemobj.PersistentObject):
    """A persistent object with eight int attributes a0..a7."""

    def __init__(self) -> None:
        for a in ATTRS:
            setattr(self, a, 0)
