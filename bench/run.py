"""`make bench`: run every benchmark of bench/ in turn (each prints its own table)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["journal.py", "cli.py", "replay.py", "machines.py", "collector.py", "cluster.py", "peer.py"]


def main(argv):
    rc = 0
    for name in BENCHES:
        path = HERE / name
        if not path.exists():
            continue
        print(f"\n== bench/{name} ==", flush=True)
        rc |= subprocess.call([sys.executable, str(path), *argv])
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
