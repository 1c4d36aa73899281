"""What the CLI runs after an action, when etc/node.conf names a collector (cli.py calls it by name).

1. The action journaled something: a bounded attempt to ship (BUDGET seconds at most: short connect and
   statement timeouts, and no new batch past the deadline). A collector that is down or slow costs the
   action that much at most, never its exit code: one warning line, and the backlog, kept in the
   journal, goes at the next action or `osvc-engine journal push`.
2. After `push` (when it succeeded): the collector's part of it, the env file and status document of each
   service (collector.commands.push_service). The operator asked for that one: a failure is an error (exit 1).
"""

import sys
import time

# Seconds after which a ship after an action starts no new batch. What one batch may take beyond it is
# bounded by the connection's timeouts (collector.connect.BOUNDED: connect 2 s, a statement 3 s).
BUDGET = 3.0
# Rows per transaction here: a batch must fit in one statement timeout even over a slow link, so a large
# backlog still advances at each action (`journal push` sends 20,000 a transaction).
CHUNK = 2000


def after_action(node, words, services, journaled, rc):
    """Returns the exit code: the action's, or 1 when the collector's part of a successful push failed."""
    from collector.connect import dsn_of

    deadline = time.monotonic() + BUDGET      # from here: the client's import counts too
    dsn = dsn_of(node)
    if dsn is None:
        return rc
    from collector.connect import BOUNDED, CollectorError

    if journaled:
        try:
            from collector.push import push

            _, refusals = push(node, dsn, bounds=BOUNDED, deadline=deadline, chunk=CHUNK)
            for exc in refusals:
                print(f"osvc-engine: warning: collector: {exc}", file=sys.stderr)
        except Exception as exc:      # whatever it is, the action's outcome stands: say it, go on
            why = exc if isinstance(exc, CollectorError) else f"{type(exc).__name__}: {exc}"
            print(f"osvc-engine: warning: journal not shipped: {why}; it goes at the next action or "
                  f"`osvc-engine journal push`", file=sys.stderr)
    if words == "push" and rc == 0:
        from collector.commands import push_service

        for svc in services:
            try:
                print(push_service(node, svc, dsn))
            except (CollectorError, OSError) as exc:
                print(f"osvc-engine: error: {svc}: not stored in the collector: {exc}", file=sys.stderr)
                rc = 1
    return rc
