"""The hash of the C core's sources, computed one way for both ends.

build.py embeds it in the extension (``pmo_source_hash``) and, in a source
tree, :mod:`pmemobj._binding` computes it again at import to refuse an
extension built from other sources.  This module imports nothing of the
package, so build.py can load it by path before the extension exists.
"""
from __future__ import annotations

import glob
import hashlib
import os


def source_hash(root: str) -> str:
    """The first 16 hex digits of a SHA-256 over ``csrc/*.c``, ``csrc/*.h``
    and ``build.py`` below ``root``: each file's name, length and contents,
    in name order."""
    names = [os.path.relpath(p, root).replace(os.sep, "/")
             for p in glob.glob(os.path.join(root, "csrc", "*.[ch]"))]
    names.append("build.py")
    digest = hashlib.sha256()
    for name in sorted(names):
        with open(os.path.join(root, name), "rb") as f:
            data = f.read()
        digest.update(b"%s\0%d\0" % (name.encode(), len(data)))
        digest.update(data)
    return digest.hexdigest()[:16]
