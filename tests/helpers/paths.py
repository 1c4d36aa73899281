"""Where the tests find the repository and their data, whatever folder of tests/ they sit in."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
DATA = REPO / "tests" / "data"
