"""A fresh interpreter for what happens at import time (which modules a first import loads)."""

import subprocess
import sys

from tests.helpers.paths import REPO


def python_out(code: str) -> str:
    """The stdout of `python -c code` run from the repository (its packages importable); fails on a non-zero rc."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout


# Python's own SIGINT handler, as an interactive start gives it: a child of a shell without job control (CI's
# `nohup ... &`) inherits SIGINT ignored, and Python then installs none
DEFAULT_SIGINT = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
# Code for python_out: an at-fork hook that receives SIGINT on the first fork, so its KeyboardInterrupt is
# raised, and dropped by Python, in the hook (core/interrupts.py)
SIGINT_IN_FIRST_FORK = DEFAULT_SIGINT + ("import os, signal, time\n"
                                         "fired = []\n"
                                         "def hook():\n"
                                         "    if not fired:\n"
                                         "        fired.append(1)\n"
                                         "        os.kill(os.getpid(), signal.SIGINT)\n"
                                         "        time.sleep(0.2)\n"
                                         "os.register_at_fork(after_in_parent=hook)\n")
