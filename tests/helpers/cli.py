"""Run the real `osvc-engine` command against a test node root: in a child process (`osvc`, `COMMAND`)
or in this one (`run`, with capsys)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_ENTRY = Path(sys.executable).parent / "osvc-engine"
COMMAND = [str(_ENTRY)] if _ENTRY.exists() else [sys.executable, str(REPO / "cli.py")]


def osvc(root, *args, node="node1", wrap=(), env=None, timeout=120, stdin=subprocess.DEVNULL):
    """CompletedProcess of `osvc-engine args...` with OSVC_ROOT=root (text mode)."""
    full_env = {**os.environ, "OSVC_ROOT": str(root), "OSVC_NODENAME": node, **(env or {})}
    return subprocess.run([*wrap, *COMMAND, *args], env=full_env, capture_output=True, text=True,
                          timeout=timeout, stdin=stdin)


def run(capsys, *argv):
    """(rc, stdout, stderr) of `osvc-engine argv...` run in this process (cli.main), read through capsys."""
    import cli

    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def write_launcher(path: Path, body: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


def real_service_env(addr, loop_image, mnt) -> str:
    """The env text of a service of real resources on node1: an ip on eth0 (in the test's netns),
    a loop device on `loop_image` and its ext4 mounted on `mnt`. Sections may be appended."""
    return f"""\
[DEFAULT]
nodes = node1

[ip#1]
ipname = {addr}
ipdev = eth0
netmask = 24

[disk#1]
type = loop
file = {loop_image}

[fs#1]
type = ext4
dev = {{disk#1.file}}
mnt = {mnt}
"""


def journal_rows(root, **filters):
    """Every journal row (dicts, payload decoded) of the node root, oldest first."""
    from journal.store import Journal

    with Journal(Path(root) / "var" / "journal.db") as j:
        return j.read(**filters)


def transitions(root, svc):
    """[(rid, event, src, dst), ...] of the service's transitions, in journal order."""
    return [(r["rid"], r["event"], r["src"], r["dst"])
            for r in journal_rows(root, svc=svc, kind="transition")]
