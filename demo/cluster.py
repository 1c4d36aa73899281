"""`make demo`, part 4: a switch between two nodes over real ssh, and its cluster audit.

Two namespace nodes, hv1 and hv2 (tests/helpers/nodes.py: a network, mount and UTS namespace each, a
real sshd, key trust; hv2's journal clock set 10 minutes behind with the test-only OSVC_TEST_CLOCK_SKEW),
the same two-launcher service on both. hv1 starts it, switches it to hv2 (the engine's ssh transport
runs `osvc-engine -s web start` there under the same action id), and the cluster audit on hv1 shows the
switch as one entry, hv2's start nested under the record that launched it, in causal order although
hv2's clock is behind. Everything is torn down at the end (sshd by pid, namespaces, folders), also on
failure or Ctrl-C.
"""

import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.helpers.nodes import cluster_service, make_nodes


def show(node, *args):
    print(f"\n\033[1m{node.name}$ osvc-engine {shlex.join(args)}\033[0m", flush=True)
    res = node.osvc(*args)
    sys.stdout.write(res.stderr + res.stdout)
    if res.returncode != 0:
        raise SystemExit(f"exit {res.returncode}")
    return res


def main():
    with make_nodes(["hv1", "hv2"], skew={"hv2": -600}) as nodes:
        hv1 = nodes["hv1"]
        cluster_service(nodes)
        print(f"nodes hv1 ({hv1.addr}) and hv2 ({nodes['hv2'].addr}), sshd each; hv2's clock 10 minutes behind")
        show(hv1, "-s", "web", "start")
        show(hv1, "-s", "web", "switch", "--to", "hv2")
        show(hv1, "journal", "pull")
        show(hv1, "journal", "tail", "--cluster", "--no-pull", "-s", "web", "--kind", "transition", "-n", "12")
        show(hv1, "journal", "audit", "--cluster", "--no-pull", "-s", "web", "--kind", "failover")
    return 0


if __name__ == "__main__":
    sys.exit(main())
