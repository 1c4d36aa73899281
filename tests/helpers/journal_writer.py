"""A journal writer process for the concurrency and crash tests (not a test module).

    python tests/helpers/journal_writer.py PATH WRITER_ID COUNT [SEED]

Appends COUNT records (mixing durable, relaxed and group appends) and prints one line per
acknowledged record, `seq writer k`, flushed right after append() returns: whatever a killed
writer printed was acknowledged and must be in the journal.
"""

import os
import random
import sys

from journal.store import Journal


def run(path, wid, count, seed, out_fd, busy_timeout=30.0):
    rnd = random.Random(seed)
    j = Journal(path, busy_timeout=busy_timeout)
    k = 0
    while count is None or k < count:
        size = rnd.choice((1, 1, 1, 2, 5, 20))
        if count is not None:
            size = min(size, count - k)
        group = [{"node": "node1", "svc": f"svc{wid}", "rid": "app#1", "kind": "transition",
                  "event": "start", "src": "down", "dst": "up", "payload": {"w": wid, "k": k + n}}
                 for n in range(size)]
        seqs = j.append(group, durable=rnd.random() < 0.5)
        os.write(out_fd, "".join(f"{s} {wid} {k + n}\n" for n, s in enumerate(seqs)).encode())
        k += size


if __name__ == "__main__":
    args = sys.argv[1:]
    run(args[0], int(args[1]), int(args[2]), int(args[3]) if len(args) > 3 else 0, 1)
