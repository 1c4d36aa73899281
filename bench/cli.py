"""CLI speed: the `[app#N]` form (5 and 50 resources) against the floor measured in the same run, the
`.d/` launcher-folder form, `print status` cached and `--refresh` (issue 19).

    python bench/cli.py [--quick] [--rounds N] [--tree DIR] [--against DIR] [--sh-cost]

--tree DIR runs the engine from that source tree (PYTHONPATH, ahead of the installed one); --against DIR
adds a second engine, run from DIR, to every round beside the first (before/after in the same run: a
`git archive` of a commit unpacked there, bytecode compiled).

--sh-cost measures what the rule "every command through the one runner built on sh" (docs/design.md §8)
costs: a third side of every measure runs the same engine (the same tree) with bench/sh_cost on PYTHONPATH,
after the tree: its sitecustomize swaps the runner's spawn for the same contract on `subprocess.Popen` (a
measurement device, never the product; `import sh` and the command's resolution are still paid). The table
shows it beside the engine's figure, `(runner on subprocess: X ms)`, and a last block the cost of the rule
per measure: engine minus runner on subprocess, in ms and in % of the engine's figure (wall, then cpu).
Before measuring, the bench checks that the swap happens, and the warm-up runs each action once that way.

The workload (issue 19): ONE `/bin/sh` script, linked (symlink) once per resource under the service's
launcher folder, which touches (`start`), removes (`stop`) or tests (`status`) a flag file named after
its link (`$0`'s basename). Services `app5` and `app50`: `[app#i] script = app<i>`, start/stop/check set.

The floor of each action, measured in the same run, interleaved with the engine's runs: a bare Python
script (the same interpreter) that spawns the same launchers with `subprocess` (start: N `start` runs;
stop: N `stop` runs; refresh: N `status` runs) and commits as many durable journal records as the
engine's action did (counted from that action's journal rows, `durable = 1`), with raw sqlite3 in WAL
mode, synchronous=FULL, one transaction per record, in a table shaped like the journal's (same columns
and indexes, ~100-byte payload, 32-byte hash). Its links are separate (`floor/<svc>/floor<i>`, same
script, outside the launcher folder, which the engine checks file by file), so its flags never change what
the engine sees. `print status` (cached) has `python3 -c pass` as its floor.

Every figure is the median of the rounds; each round runs every measure once, the engine and its floor
side by side, which goes first alternating. The load average is printed before and after.
Never a timed assertion: this prints, it does not fail.
"""

import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "osvc-engine"
SH_COST = Path(__file__).resolve().parent / "sh_cost"     # --sh-cost: the subprocess runner's sitecustomize
LAUNCHERS = 5
MORE = 15

FLAG_SCRIPT = """#!/bin/sh
f="{state}/$(basename "$0")"
case "$1" in
  start) touch "$f" ;;
  stop) rm -f "$f" ;;
  status) [ -e "$f" ] ;;
esac
"""

# The floor: N launcher runs and D durable commits (argv: db action durable link...).
FLOOR = r'''
import os, sqlite3, subprocess, sys
db, action, durable, *links = sys.argv[1:]
durable = int(durable)
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=FULL")
conn.execute("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, hlc INTEGER NOT NULL,"
             " node TEXT, svc TEXT, rid TEXT, kind TEXT, machine TEXT, event TEXT, src TEXT, dst TEXT,"
             " action_id TEXT, payload BLOB, durable INTEGER, hash BLOB NOT NULL)")
conn.execute("CREATE INDEX IF NOT EXISTS events_kind ON events (kind)")
conn.execute("CREATE INDEX IF NOT EXISTS events_action ON events (action_id)")
conn.execute("CREATE INDEX IF NOT EXISTS events_ts ON events (ts)")
payload, digest = b"x" * 100, os.urandom(32)
def commit():
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO events (ts, hlc, node, svc, rid, kind, machine, event, src, dst, action_id,"
                 " payload, durable, hash) VALUES (?, ?, 'benchnode', 'floor', 'app#1', 'transition', 'app',"
                 " 'start', 'down', 'starting', 'deadbeef', ?, 1, ?)", (1, 1, payload, digest))
    conn.execute("COMMIT")
done = 0
for i, link in enumerate(links):
    while done < durable * i // max(1, len(links)):
        commit(); done += 1
    subprocess.run([link, action], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
while done < durable:
    commit(); done += 1
'''


CPU = {}   # argv tuple -> CPU seconds (user + system, the command and its children) of each run


def once(argv, env):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.setdefault((tuple(argv), env.get("PYTHONPATH")), []).append(
        r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return wall


def make_folder_service(root, name, launchers):
    """The `.d/` form: S/K/C launchers in the folder, `exit 0`."""
    etc = root / "etc"
    (etc / f"{name}.d").mkdir(parents=True)
    (etc / f"{name}.env").write_text("[DEFAULT]\nnodes = benchnode\n")
    for i in range(launchers):
        for prefix in ("S", "K", "C"):
            script = etc / f"{name}.d" / f"{prefix}{10 + i}app{i}"
            script.write_text("#!/bin/sh\nexit 0\n")
            script.chmod(0o755)


def make_app_service(root, name, count):
    """The `[app#N]` form: one script, a link a resource (and a `floor<i>` link for the floor, elsewhere)."""
    folder, floor = root / "etc" / f"{name}.d", root / "floor" / name
    folder.mkdir(parents=True)
    floor.mkdir(parents=True)
    script = root / "etc" / "flag.sh"
    lines = ["[DEFAULT]", "nodes = benchnode", ""]
    for i in range(1, count + 1):
        (folder / f"app{i}").symlink_to(script)
        (floor / f"floor{i}").symlink_to(script)
        lines += [f"[app#{i}]", f"script = app{i}", f"start = {i}", f"stop = {i}", f"check = {i}", ""]
    (root / "etc" / f"{name}.env").write_text("\n".join(lines))
    return [str(floor / f"floor{i}") for i in range(1, count + 1)]


def durable_records(root):
    """The durable records of the journal's last action (the action just run)."""
    conn = sqlite3.connect(root / "var" / "journal.db")
    try:
        (action,) = conn.execute("SELECT action_id FROM events WHERE kind = 'action' AND event = 'begin' "
                                 "ORDER BY seq DESC LIMIT 1").fetchone()
        (count,) = conn.execute("SELECT count(*) FROM events WHERE action_id = ? AND durable = 1",
                                (action,)).fetchone()
        return count
    finally:
        conn.close()


def main(argv):
    quick = "--quick" in argv
    rounds = int(argv[argv.index("--rounds") + 1]) if "--rounds" in argv else (3 if quick else 5)
    root = Path(tempfile.mkdtemp(prefix="osvc-bench-"))
    try:
        for sub in ("etc", "var", "log", "state"):
            (root / sub).mkdir()
        (root / "etc" / "flag.sh").write_text(FLAG_SCRIPT.format(state=root / "state"))
        (root / "etc" / "flag.sh").chmod(0o755)
        make_folder_service(root, "bench", LAUNCHERS)
        make_folder_service(root, "bench15", MORE)
        floors = {n: make_app_service(root, f"app{n}", n) for n in (5, 50)}
        floor_py = root / "floor.py"
        floor_py.write_text(FLOOR)
        floor_db = str(root / "floor.db")
        env = {**os.environ, "OSVC_ROOT": str(root), "OSVC_NODENAME": "benchnode"}
        if "--tree" in argv:
            env["PYTHONPATH"] = argv[argv.index("--tree") + 1]
        against = None
        if "--against" in argv:
            against = {**env, "PYTHONPATH": argv[argv.index("--against") + 1]}
        sh_cost = None
        if "--sh-cost" in argv:
            sh_cost = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(SH_COST)]))}
        py = sys.executable

        def engine(svc, *action):
            return [str(BIN), "-s", svc, *action]

        # warm-up (journal, folders, caches; twice: the first action also journals the env file's
        # digest), and the durable records each action journals
        durable = {}
        for n in (5, 50, 5, 50):
            for action in ("start", "stop"):
                subprocess.run(engine(f"app{n}", action), env=env, capture_output=True, check=True)
                durable[(n, action)] = durable_records(root)
        for svc in ("bench", "bench15"):
            subprocess.run(engine(svc, "print", "status", "--refresh"), env=env, capture_output=True, check=True)
        if sh_cost is not None:
            # the swap happens (else the third side would measure sh again), and each action runs once that way
            swapped = ("import sys, drivers.runner, sitecustomize;"
                       "sys.exit(drivers.runner.Runner._spawn is not sitecustomize._spawn)")
            if subprocess.run([sys.executable, "-c", swapped], env=sh_cost, cwd=root, check=False).returncode:
                raise SystemExit(f"--sh-cost: {SH_COST}/sitecustomize.py did not swap Runner._spawn")
            for n in (5, 50):
                for action in ("start", "stop"):
                    subprocess.run(engine(f"app{n}", action), env=sh_cost, capture_output=True, check=True)

        def floor(n, action):
            d = durable.get((n, action), 0)
            return [py, str(floor_py), floor_db, action, str(d), *floors[n]]

        samples, cpu = {}, {}

        def pair(key, eng, flo, r):
            sides = [("engine", eng, env), ("floor", flo, env)]
            if against is not None:
                sides.insert(1, ("against", eng, against))
            if sh_cost is not None:
                sides.insert(-1, ("subprocess runner", eng, sh_cost))
            for side, argv_, env_ in (sides if r % 2 == 0 else sides[::-1]):
                samples.setdefault((key, side), []).append(once(argv_, env_))
                cpu.setdefault((key, side), []).append(CPU[(tuple(argv_), env_.get("PYTHONPATH"))][-1])

        load0 = os.getloadavg()
        for r in range(rounds):
            samples.setdefault(("pass", "engine"), []).append(once([py, "-c", "pass"], env))
            for n in (5, 50):
                pair(f"start {n}", engine(f"app{n}", "start"), floor(n, "start"), r)
                if n == 5:
                    pair("refresh 5", engine("app5", "print", "status", "--refresh"), floor(5, "status"), r)
                    pair("status 5", engine("app5", "print", "status"), [py, "-c", "pass"], r)
                pair(f"stop {n}", engine(f"app{n}", "stop"), floor(n, "stop"), r)
            for svc in ("bench", "bench15"):
                samples.setdefault((svc, "engine"), []).append(
                    once(["sh", "-c", f"{BIN} -s {svc} start && {BIN} -s {svc} stop"], env))
            samples.setdefault(("import sh", "engine"), []).append(once([py, "-c", "import sh"], env))
            samples.setdefault(("exit 0", "engine"), []).append(once(["sh", "-c", "exit 0"], env))
        load1 = os.getloadavg()

        def med(key, side="engine"):
            return statistics.median(samples[(key, side)])

        base = med("pass")
        goals = {"start 5": 0.120, "stop 5": 0.120, "start 50": 0.500, "stop 50": 0.400,
                 "refresh 5": 0.070, "status 5": 0.030}
        labels = {"start 5": "start, 5 [app#N]", "stop 5": "stop, 5 [app#N]",
                  "start 50": "start, 50 [app#N]", "stop 50": "stop, 50 [app#N]",
                  "refresh 5": "print status --refresh, 5 checks", "status 5": "print status (cached)"}
        print(f"rounds {rounds}, load average {load0[0]:.2f} before, {load1[0]:.2f} after; "
              f"python3 -c pass {base * 1e3:.1f} ms")
        print("wall ms, medians; cpu: user+system ms of the command and its children (steadier on a shared box)")
        print(f"{'measure':<34} {'engine ms':>9} {'floor ms':>9} {'x floor':>8} {'durable':>8}  goal")
        for key in ("status 5", "refresh 5", "start 5", "stop 5", "start 50", "stop 50"):
            eng, flo = med(key), med(key, "floor")
            n, action = (5, "status") if key.startswith(("refresh", "status")) else \
                (int(key.split()[1]), key.split()[0])
            d = durable.get((n, action), 0)
            verdict = "met" if eng <= goals[key] else "NOT met"
            other = f"  (--against: {med(key, 'against') * 1e3:.1f} ms)" if against is not None else ""
            if sh_cost is not None:
                other += f"  (runner on subprocess: {med(key, 'subprocess runner') * 1e3:.1f} ms)"
            print(f"{labels[key]:<34} {eng * 1e3:>9.1f} {flo * 1e3:>9.1f} {eng / flo:>8.2f} {d:>8}  "
                  f"<= {goals[key] * 1e3:.0f} ms: {verdict}{other}")
            c_eng, c_flo = statistics.median(cpu[(key, "engine")]), statistics.median(cpu[(key, "floor")])
            c_other = (f"  (--against: {statistics.median(cpu[(key, 'against')]) * 1e3:.1f})"
                       if against is not None else "")
            if sh_cost is not None:
                c_other += f"  (runner on subprocess: {statistics.median(cpu[(key, 'subprocess runner')]) * 1e3:.1f})"
            print(f"{'  cpu':<34} {c_eng * 1e3:>9.1f} {c_flo * 1e3:>9.1f} {c_eng / c_flo:>8.2f}{c_other}")
        ss5, ss15, launcher = med("bench"), med("bench15"), med("exit 0")
        per_resource = (ss15 - ss5) / (MORE - LAUNCHERS) / 2 - launcher
        print(f"{'.d/ form: start + stop, 5 launchers':<34} {ss5 * 1e3:>9.1f}")
        print(f"{'.d/ form: start + stop, 15':<34} {ss15 * 1e3:>9.1f}")
        print(f"{'.d/ form: overhead per resource':<34} {per_resource * 1e3:>9.1f}   (marginal, beyond the launcher)")
        label = 'python3 -c "import sh" - pass'
        print(f"{label:<34} {(med('import sh') - base) * 1e3:>9.1f}")
        if sh_cost is not None:
            print("cost of the sh rule: engine - runner on subprocess (medians), ms and % of the engine's figure")
            print(f"{'measure':<34} {'wall ms':>9} {'wall %':>7} {'cpu ms':>9} {'cpu %':>7}")
            for key in ("status 5", "refresh 5", "start 5", "stop 5", "start 50", "stop 50"):
                eng, sub = med(key), med(key, "subprocess runner")
                c_eng = statistics.median(cpu[(key, "engine")])
                c_sub = statistics.median(cpu[(key, "subprocess runner")])
                print(f"{labels[key]:<34} {(eng - sub) * 1e3:>9.1f} {(eng - sub) / eng * 100:>6.1f}% "
                      f"{(c_eng - c_sub) * 1e3:>9.1f} {(c_eng - c_sub) / c_eng * 100:>6.1f}%")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
