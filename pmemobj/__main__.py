"""``python -m pmemobj``: the pmemobj command-line tools (see pmemobj.cli)."""
import sys

from .cli import main

sys.exit(main())
