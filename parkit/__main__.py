"""``python -m parkit``: the parkit command-line tools (see parkit.cli)."""
import sys

from .cli import main

sys.exit(main())
