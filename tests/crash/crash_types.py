"""Persistent classes used by the crash harness (importable by module path)."""
import pmemobj


class Record(pmemobj.PersistentObject):
    """A user object whose attributes the harness changes."""
