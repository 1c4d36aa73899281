"""Child side of tests/helpers/netns.py: run ip driver operations in the current (namespaced)
process and print their outcomes as JSON. Usage (from the repository root):
python -m tests.helpers.ip_call '<json request>'."""

import json
import sys
from pathlib import Path

from core.node import Node
from tests.helpers.drivers import make_driver


def main():
    req = json.loads(sys.argv[1])
    node = Node(Path(req["root"]), "node1")
    out = []
    for op in req["ops"]:
        drv, log, events = make_driver(node, "ip", conf=req["conf"], tags=req["tags"], **req["context"])
        entry = {"op": op, "ok": True, "error": None, "value": None}
        try:
            entry["value"] = getattr(drv, op)()
        except Exception as exc:   # the parent asserts on the message
            entry.update(ok=False, error=f"{type(exc).__name__}: {exc}")
        entry["log"] = log.lines
        entry["argv"] = [e["payload"]["argv"] for e in events]
        entry["can_rollback"] = drv.can_rollback
        out.append(entry)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
