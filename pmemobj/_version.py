"""The project's version: pyproject.toml reads it from here, and both
packages export it as ``__version__``."""
__version__ = "0.1.0"
