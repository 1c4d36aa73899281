"""Replay benchmark: a generated journal of a million records over a thousand services.

    python bench/replay.py [--quick] [--records N] [--services N] [--dir DIR] [--keep]

The journal is written through Journal.append, one group commit per batch of actions (relaxed, like
the engine's commands and observations), with realistic records: config, action begin/end, service
and resource transitions (containers through wait-up/wait-ping/wait-operational, a failed start
rolled back now and then), commands with argv/rc/duration/output tails, status observations.
A scripted clock spaces the records 10 ms apart, so "a past moment" is a point of that history.

Measured in the same run, on the same file:
- the ceiling: raw sqlite3 reading every row in seq order (what any replay must at least pay), and
  the same with every payload msgpack-decoded (the fold decodes only the payloads it reads: config,
  action and status records),
- a full replay: engine.history.fold.fold over every row (records/s, and its share of the raw scan's),
- the status of one service at an arbitrary past seq: replay_service(..., snapshots=False) (fold of
  that service's records up to the seq) and snapshots=True (newest snapshot <= seq, then the rest),
  with snapshots every 1000 (the default) and every 100 records of a service; its ceiling is raw
  sqlite3 reading that service's rows up to the seq (times: how many times the ceiling's). Median of
  many random points.
Never a timed assertion: this prints, it does not fail.
"""

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import msgpack  # noqa: E402

from journal.store import Journal  # noqa: E402

NODE = "node1"
STEP_NS = 10_000_000            # 10 ms of history between two appends


class Clock:
    def __init__(self, t0):
        self.ns = t0

    def __call__(self):
        self.ns += STEP_NS
        return self.ns


# -- the generator ---------------------------------------------------------------------------------
def service_shape(i):
    """rid -> machine of service i: every service has an ip, a fs and apps; one in three a VM and
    an HA heartbeat."""
    rids = {"ip#1": "resource", "disk#1": "resource", "fs#1": "resource", "app#1": "resource",
            "app#2": "resource"}
    if i % 3 == 0:
        rids = {"ip#1": "resource", "container#1": "container", "app#1": "resource", "hb#1": "hb"}
    return rids


STEPS = {  # (machine, direction) -> [(trigger, src, dst)...]
    ("resource", "start"): [("start", "down", "starting"), ("started", "starting", "up")],
    ("resource", "stop"): [("stop", "up", "stopping"), ("stopped", "stopping", "down")],
    ("container", "start"): [("start", "down", "starting"), ("wait_up", "starting", "wait-up"),
                             ("wait_ping", "wait-up", "wait-ping"),
                             ("wait_operational", "wait-ping", "wait-operational"),
                             ("started", "wait-operational", "up")],
    ("container", "stop"): [("stop", "up", "stopping"), ("wait_down", "stopping", "wait-down"),
                            ("stopped", "wait-down", "down")],
    ("hb", "start"): [("enable", "ha-disabled", "ha-enabling"), ("enabled", "ha-enabling", "ha-enabled")],
    ("hb", "stop"): [("disable", "ha-enabled", "ha-disabling"), ("disabled", "ha-disabling", "ha-disabled")],
}
COMMANDS = {"ip#1": ["ip", "addr", "add", "10.0.0.5/24", "dev", "eth0"], "disk#1": ["losetup", "-f", "--show"],
            "fs#1": ["mount", "-t", "ext4", "/dev/loop0", "/srv/data"], "app#1": ["/etc/init.d/db", "start"],
            "app#2": ["/etc/init.d/web", "start"], "container#1": ["ovm", "-u", "admin", "vm", "start", "-n"],
            "hb#1": ["ovm", "-u", "admin", "vm", "conf", "-e", "-n"]}


class Service:
    def __init__(self, i, rnd):
        self.name = f"svc{i:04d}"
        self.rids = service_shape(i)
        self.up = False
        self.rnd = rnd
        self.actions = 0
        self.env = f"[DEFAULT]\nnodes = {NODE}\n" + "".join(f"\n[{rid}]\ntype = x\n" for rid in self.rids)
        self.meta_sent = False

    def action(self, n):
        """The records of this service's next action (a start, or a stop), as the engine writes them."""
        rnd, svc = self.rnd, self.name
        aid = f"{n:016x}"
        direction = "stop" if self.up else "start"
        fail = direction == "start" and rnd.random() < 0.08
        rec = lambda **kw: {"node": NODE, "svc": svc, "action_id": aid, **kw}
        out = []
        if self.actions == 0 or rnd.random() < 0.02:
            out.append(rec(kind="config", event="env",
                           payload={"digest": f"{rnd.getrandbits(128):032x}", "text": self.env,
                                    "path": f"/var/lib/osvc-engine/etc/{svc}.env"}))
        self.actions += 1
        out.append(rec(kind="action", event="begin", payload={
            "action": direction, "argv": ["osvc-engine", "-s", svc, direction], "user": "root",
            "pid": rnd.randint(1000, 60000), "boot_id": "12f3ba6a-7f52-4a88-8c45-02f5d6366e33", "node": NODE,
            "digest": "d" * 64, "steps": {direction: list(self.rids)}}))
        s_src = "started" if self.up else "stopped"
        s_mid = "starting" if direction == "start" else "stopping"
        out.append(rec(kind="transition", machine="service", event=direction, src=s_src, dst=s_mid,
                       payload={"action": direction}))
        order = list(self.rids) if direction == "start" else list(reversed(self.rids))
        done = []
        for k, rid in enumerate(order):
            machine = self.rids[rid]
            steps = STEPS[(machine, direction)]
            out.append(rec(kind="transition", rid=rid, machine=machine, event=steps[0][0], src=steps[0][1],
                           dst=steps[0][2]))
            argv = COMMANDS[rid] if direction == "start" else [COMMANDS[rid][0], "stop"]
            failing = fail and k == len(order) - 1
            out.append(rec(kind="command", rid=rid, event=os.path.basename(argv[0]), payload={
                "argv": argv, "rc": 1 if failing else 0, "duration": round(rnd.uniform(0.005, 1.5), 6),
                "out_tail": "" if not failing else "cannot start\n", "err_tail": "", "pid": rnd.randint(1000, 60000),
                "timeout": False}))
            if failing:
                out.append(rec(kind="transition", rid=rid, machine=machine, event="start_failed",
                               src=steps[-2][2], dst="start-failed",
                               payload={"reason": f"{rid} start failed", "duration": 0.2}))
                break
            for trig, src, dst in steps[1:]:
                out.append(rec(kind="transition", rid=rid, machine=machine, event=trig, src=src, dst=dst,
                               payload={"duration": round(rnd.uniform(0.001, 2.5), 6)}))
            done.append(rid)
        if fail:
            out.append(rec(kind="transition", machine="service", event="start_failed", src="starting",
                           dst="start-failed", payload={"reason": "start failed"}))
            out.append(rec(kind="transition", machine="service", event="rollback", src="start-failed",
                           dst="rolling-back"))
            for rid in reversed(done):
                for trig, src, dst in STEPS[(self.rids[rid], "stop")]:
                    out.append(rec(kind="transition", rid=rid, machine=self.rids[rid], event=trig, src=src,
                                   dst=dst, payload={"duration": 0.05} if trig != "stop" else {}))
            out.append(rec(kind="transition", machine="service", event="rolled_back", src="rolling-back",
                           dst="start-failed"))
            self.up = False
        else:
            out.append(rec(kind="transition", machine="service", event="started" if direction == "start" else "stopped",
                           src=s_mid, dst="started" if direction == "start" else "stopped"))
            self.up = direction == "start"
        out.append(rec(kind="action", event="end", payload={
            "action": direction, "outcome": "failed" if fail else "ok", "rc": 1 if fail else 0,
            "duration": round(rnd.uniform(0.1, 9.0), 6)}))
        value = "up" if self.up else "down"
        status = {"resources": {rid: [value, []] for rid in self.rids}, "overall": value, "avail": value,
                  "mh": "0123456789abcdef", "updated": ""}
        if not self.meta_sent:
            status["meta"] = {rid: ["container.ovm" if m == "container" else ("hb.ovm" if m == "hb" else rid.split("#")[0]),
                                    rid, False, False, False, False, []] for rid, m in self.rids.items()}
            self.meta_sent = True
        out.append(rec(kind="observation", event="status", payload=status))
        return out


def generate(path, records, services, seed=7):
    """Write the journal; returns (records written, seconds)."""
    rnd = random.Random(seed)
    svcs = [Service(i, rnd) for i in range(services)]
    j = Journal(path, clock=Clock(1_700_000_000_000_000_000))
    written, n = 0, 0
    t = time.perf_counter()
    batch = []
    while written < records:
        for _ in range(16):                      # one group commit: 16 actions of different services
            n += 1
            batch += svcs[rnd.randrange(services)].action(n)
        batch = batch[:records - written]
        j.append(batch, durable=False)
        written += len(batch)
        batch = []
    secs = time.perf_counter() - t
    j.close()
    return written, secs


# -- the measures ------------------------------------------------------------------------------------
def best(fn, reps):
    """Best of reps runs (other load only ever slows a run down), and the last result."""
    times, result = [], None
    for _ in range(reps):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def ceiling_scan(path, decode):
    conn = sqlite3.connect(path)
    unpack = msgpack.unpackb
    count = 0
    for row in conn.execute("SELECT * FROM events ORDER BY seq"):
        if decode:
            unpack(row[12], raw=False, strict_map_key=False)
        count += 1
    conn.close()
    return count


def ceiling_point(conn, svc, seq, decode):
    unpack = msgpack.unpackb
    rows = conn.execute("SELECT * FROM events WHERE svc = ? AND seq <= ? ORDER BY seq", (svc, seq)).fetchall()
    if decode:
        for row in rows:
            unpack(row[12], raw=False, strict_map_key=False)
    return len(rows)


def points(path, services, k, rnd):
    """k random (svc, seq) pairs: a service, and a seq of one of its records past its first tenth."""
    conn = sqlite3.connect(path)
    out = []
    for _ in range(k):
        svc = f"svc{rnd.randrange(services):04d}"
        seqs = [s for (s,) in conn.execute("SELECT seq FROM events WHERE svc = ? ORDER BY seq", (svc,))]
        out.append((svc, seqs[rnd.randrange(len(seqs) // 10, len(seqs))]))
    conn.close()
    return out


def median_ms(fn, pts):
    times = []
    for svc, seq in pts:
        t = time.perf_counter()
        fn(svc, seq)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100,000 records over 100 services")
    ap.add_argument("--records", type=int, help="records to generate (default 1,000,000)")
    ap.add_argument("--services", type=int, help="services (default 1,000)")
    ap.add_argument("--dir", help="where to put the journal (default: a temp dir on /var/tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the generated journal (its path is printed)")
    opts = ap.parse_args(argv)
    records = opts.records or (100_000 if opts.quick else 1_000_000)
    services = opts.services or (100 if opts.quick else 1_000)
    reps = 1 if opts.quick else 3
    workdir = tempfile.mkdtemp(prefix="osvc-bench-replay-", dir=opts.dir or "/var/tmp")
    path = os.path.join(workdir, "journal.db")
    rnd = random.Random(11)
    try:
        n, gen_secs = generate(path, records, services)
        size = os.path.getsize(path) + (os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0)
        print(f"osvc-engine replay benchmark ({os.cpu_count()} cpus, sqlite {sqlite3.sqlite_version}): "
              f"{n:,} records over {services:,} services, {size / 1e6:,.0f} MB, generated in {gen_secs:.1f} s "
              f"({n / gen_secs:,.0f} rec/s, relaxed group commits of 16 actions)")
        rows = []
        t_scan, _ = best(lambda: ceiling_scan(path, False), reps)
        t_raw, _ = best(lambda: ceiling_scan(path, True), reps)
        rows.append(("ceiling: raw sqlite3 scan (rec/s)", n / t_scan, None))
        rows.append(("ceiling: raw sqlite3 scan + msgpack (rec/s)", n / t_raw, None))
        try:
            from engine.history import fold as replay, views
        except ImportError:
            replay = None
        if replay is None:
            print("engine.history.fold is not there: only the generator and the ceiling are measured")
        else:
            j = Journal(path, create=False)

            def full():
                views = replay.fold(j.scan(chunk=20000))
                assert len(views) == services
                return views

            t_fold, views = best(full, reps)
            rows.append(("full replay: fold every record (rec/s)", n / t_fold, n / t_scan))
            pts = points(path, services, 25 if opts.quick else 60, rnd)
            raw = sqlite3.connect(path)
            ceiling = median_ms(lambda s, q: ceiling_point(raw, s, q, False), pts)
            decoded = median_ms(lambda s, q: ceiling_point(raw, s, q, True), pts)
            nosnap = median_ms(lambda s, q: views.replay_service(j, s, seq=q, snapshots=False).document(), pts)
            rows.append(("one service at a past seq: ceiling (ms)", ceiling, None))
            rows.append(("... ceiling + msgpack of every row (ms)", decoded, ceiling))
            rows.append(("... replay without snapshots (ms)", nosnap, ceiling))
            from engine.history import snapshots

            for every in (1000, 100):
                snapshots.drop(j)
                t = time.perf_counter()
                written = snapshots.build_all(j, every=every)
                built = time.perf_counter() - t
                snap = median_ms(lambda s, q: views.replay_service(j, s, seq=q, snapshots=True).document(), pts)
                rows.append((f"... with snapshots every {every} (ms)", snap, ceiling))
                print(f"snapshots every {every} records of a service: {written:,} written in {built:.1f} s")
            raw.close()
            j.close()
        print(f"{'case':<46} {'value':>12}  vs ceiling")
        for name, value, ref in rows:
            text = f"{value:>12,.0f}" if "rec/s" in name else f"{value:>12,.2f}"
            # rec/s: the share of the ceiling's speed; ms: how many times the ceiling's time
            ratio = "" if ref is None else f"{value / ref:.2f}x"
            print(f"{name:<46} {text}  {ratio}")
        if opts.keep:
            print(f"journal kept: {path}")
    finally:
        if not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
