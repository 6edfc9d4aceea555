"""Types the pickle tests nominate (importable by module path)."""
import dataclasses


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


class Boom:
    """Unpickling this would create a marker file: it must never happen."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))
