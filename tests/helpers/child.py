"""A fresh interpreter for what happens at import time (which modules a first import loads)."""

import subprocess
import sys

from tests.helpers.paths import REPO


def python_out(code: str) -> str:
    """The stdout of `python -c code` run from the repository (its packages importable); fails on a non-zero rc."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
