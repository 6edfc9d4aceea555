"""setuptools entry point: builds the cffi extension declared in build.py."""
from setuptools import setup

setup(cffi_modules=["build.py:ffibuilder"])
