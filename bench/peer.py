"""The peer (issue 19): the same workload run by the real OpenSVC agent (branch b2.1, daemon-less, from its
source) and by osvc-engine, interleaved, in one run.

    python bench/peer.py --agent DIR [--rounds N] [--quick]

DIR is the agent's source tree (the folder holding `opensvc/`), e.g.

    git clone -b b2.1 https://github.com/opensvc/opensvc DIR
    (or: git -C MIRROR archive b2.1 | tar -x -C DIR)

or the environment's OSVC_PEER_AGENT=DIR (so that `OSVC_PEER_AGENT=DIR make bench` runs it: bench/run.py
hands its arguments to every bench, and the argparse ones refuse --agent). Without either the bench
prints one line saying so and exits 0 (`make bench` never fails on it). The agent's source is never part
of this repository; the bench copies DIR/opensvc into its temp root, untouched (no version.py written:
the agent runs as from a checkout).

The workload is bench/cli.py's (imported, not copied): ONE /bin/sh script (FLAG_SCRIPT) linked once per
`[app#i]` resource under `<etc>/<svc>.d/`, which touches (start), removes (stop) or tests (status) a flag
file named after its link; services app5 and app50, `[app#i] script = app<i>`, `start = i`, `stop = i`,
`check = i`. The engine reads them from `<root>/etc/<svc>.env` (`nodes = benchnode`); the agent's 2.x
config is the same sections in `<OSVC_ROOT_PATH>/etc/<svc>.conf`, `[DEFAULT]` given `id = <uuid4>` and
`nodes = <this host>` (the agent's nodename); nothing else set (create_pg etc. at their defaults). The
agent resolves the relative `script = app<i>` in `<OSVC_ROOT_PATH>/etc/<svc>.d/` (the same links).

The agent, exactly (what bin/om does, minus its sh wrapper: `cd $OSVC_ROOT_PATH;
PYTHONPATH=$OSVC_ROOT_PATH python -m opensvc svc ...`):

    cd ROOT && env -u PYTHONDONTWRITEBYTECODE PYTHONPATH=ROOT VENV/bin/python3 -m opensvc svc -s SVC print status
    ... -m opensvc svc -s SVC print status --refresh
    ... -m opensvc svc -s SVC start --local
    ... -m opensvc svc -s SVC stop --local

ROOT is a temp folder holding a copy of DIR/opensvc (the agent takes its OSVC_ROOT_PATH from the
package's parent folder: etc/, var/, log/, tmp/ beside it); VENV is `python -m venv --without-pip`
made from this interpreter's base: the agent on the stdlib alone (the base interpreter's site-packages,
e.g. setuptools' distutils shim, which the agent's `import distutils` would otherwise load, are not
seen). `--local`: no daemon, no orchestration; the agent still tries its daemon's socket (absent) after
each action and logs "post object status failed" (W) and an "[Errno 2]" (E), exit code 0. No OSVC_*
variable reaches the agent. The engine: the venv's `osvc-engine -s SVC ...` with OSVC_ROOT and
OSVC_NODENAME=benchnode, as in bench/cli.py.

Side effect outside the temp root: the agent's start creates `opensvc.slice` under every cgroup v1
controller (/sys/fs/cgroup/*/, its namespace's process group, whatever create_pg says); those this run
created are removed (rmdir, empty only) at the end.

Each side is warmed up (bytecode, capabilities cache, status files): every service started, its status
refreshed, stopped, once. Then every round runs, for each measure, the engine and the agent one after the
other, which goes first alternating: `print status` (cached), `print status --refresh` (5 checks),
start 5, stop 5, start 50, stop 50. After each start/stop the bench checks on both sides that the flag
files of every resource appeared/disappeared, and stops loudly if not. Wall ms and cpu ms (user+system of
the command and its children, bench/cli.py's `once`), medians, and agent/engine; `python3 -c pass` for
both interpreters. --quick: 1 round, no 50-resource service. Default 3 rounds.
Never a timed assertion: this prints, it does not fail (except when the work was not done).
"""

import glob
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from cli import BIN, CPU, FLAG_SCRIPT, make_app_service, once

HOW = ("bench/peer.py: skipped, no --agent DIR nor OSVC_PEER_AGENT=DIR (the OpenSVC agent's source: "
       "git clone -b b2.1 https://github.com/opensvc/opensvc DIR, then bench/peer.py --agent DIR)")
CGROUPS = "/sys/fs/cgroup/*/opensvc.slice"


def make_root(root, counts, agent_host=None):
    """A side's root: etc/flag.sh, the services (bench/cli.py's make_app_service); for the agent, each
    service's config moved to the 2.x `<svc>.conf`, `[DEFAULT]` given its id and this host."""
    for sub in ("etc", "var", "log", "tmp", "state"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "etc" / "flag.sh").write_text(FLAG_SCRIPT.format(state=root / "state"))
    (root / "etc" / "flag.sh").chmod(0o755)
    for n in counts:
        make_app_service(root, f"app{n}", n)
        if agent_host is None:
            continue
        env_file = root / "etc" / f"app{n}.env"
        text = env_file.read_text()
        head = "[DEFAULT]\nnodes = benchnode\n"
        if not text.startswith(head):
            raise SystemExit(f"peer.py: bench/cli.py's service config changed shape: {text[:80]!r}")
        conf = f"[DEFAULT]\nid = {uuid.uuid4()}\nnodes = {agent_host}\n" + text[len(head):]
        (root / "etc" / f"app{n}.conf").write_text(conf)
        env_file.unlink()


def check_flags(side, root, n, action, argv):
    """After start every resource's flag is there, after stop none: the work was done."""
    names = {f"app{i}" for i in range(1, n + 1)}
    there = {p.name for p in (root / "state").iterdir()} & names
    wrong = sorted(names - there) if action == "start" else sorted(there)
    if wrong:
        logs = ""
        for log in sorted((root / "log").glob("*.log")):
            logs += f"\n--- {log}:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise SystemExit(f"peer.py: {side}: after `{' '.join(argv)}`, flags "
                         f"{'missing' if action == 'start' else 'left'}: {', '.join(wrong)}{logs}")


def main(argv):
    src = argv[argv.index("--agent") + 1] if "--agent" in argv else os.environ.get("OSVC_PEER_AGENT")
    if not src:
        print(HOW)
        return 0
    src = Path(src).resolve()
    if not (src / "opensvc" / "__main__.py").is_file() or not (src / "opensvc" / "commands" / "svc").is_dir():
        print(f"bench/peer.py: {src} is not the OpenSVC agent's source (no opensvc/__main__.py, "
              f"opensvc/commands/svc/)", file=sys.stderr)
        return 2
    quick = "--quick" in argv
    rounds = int(argv[argv.index("--rounds") + 1]) if "--rounds" in argv else (1 if quick else 3)
    counts = (5,) if quick else (5, 50)
    cgroups_before = set(glob.glob(CGROUPS))
    base = Path(tempfile.mkdtemp(prefix="osvc-peer-"))
    try:
        eroot, aroot = base / "engine", base / "agent"
        make_root(eroot, counts)
        host = socket.gethostname().lower()      # the agent's Env.nodename
        make_root(aroot, counts, agent_host=host)
        shutil.copytree(src / "opensvc", aroot / "opensvc", symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        venv = base / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        apy = str(venv / "bin" / "python3")

        clean = {k: v for k, v in os.environ.items()
                 if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONHOME") and not k.startswith("OSVC_")}
        eenv = {**clean, "OSVC_ROOT": str(eroot), "OSVC_NODENAME": "benchnode"}
        aenv = {**clean, "PYTHONPATH": str(aroot)}
        aenv.pop("VIRTUAL_ENV", None)
        os.chdir(aroot)      # bin/om's `cd $OSVC_ROOT_PATH` (the engine does not care)

        def engine(svc, *action):
            return [str(BIN), "-s", svc, *action]

        def agent(svc, *action):
            if action[0] in ("start", "stop"):
                action = (*action, "--local")
            return [apy, "-m", "opensvc", "svc", "-s", svc, *action]

        sides = {"engine": (engine, eenv, eroot), "agent": (agent, aenv, aroot)}

        # warm-up: every service started, its status refreshed, stopped (bytecode, caches, status files)
        for side, (cmd, env, root) in sides.items():
            for n in counts:
                for action in (("start",), ("print", "status", "--refresh"), ("stop",), ("print", "status")):
                    argv_ = cmd(f"app{n}", *action)
                    done = subprocess.run(argv_, env=env, capture_output=True, text=True, check=False)
                    if done.returncode:
                        raise SystemExit(f"peer.py: {side}: `{' '.join(argv_)}` exited {done.returncode}:\n"
                                         f"{done.stdout}{done.stderr}")
                    if action[0] in ("start", "stop"):
                        check_flags(side, root, n, action[0], argv_)
                    elif action[-1] == "--refresh" and side == "agent":
                        up = [line for line in done.stdout.splitlines() if "app#" in line and " up " in line]
                        if len(up) != n:
                            raise SystemExit(f"peer.py: agent: `{' '.join(argv_)}` after start shows {len(up)} "
                                             f"of {n} resources up:\n{done.stdout}{done.stderr}")

        samples, cpu = {}, {}

        def pair(key, n, action, r):
            order = ["engine", "agent"] if r % 2 == 0 else ["agent", "engine"]
            for side in order:
                cmd, env, root = sides[side]
                argv_ = cmd(f"app{n}", *action)
                samples.setdefault((key, side), []).append(once(argv_, env))
                cpu.setdefault((key, side), []).append(CPU[(tuple(argv_), env.get("PYTHONPATH"))][-1])
                if action[0] in ("start", "stop"):
                    check_flags(side, root, n, action[0], argv_)

        pys = {"engine": [sys.executable, "-c", "pass"], "agent": [apy, "-c", "pass"]}
        load0 = os.getloadavg()
        for r in range(rounds):
            for side in (["engine", "agent"] if r % 2 == 0 else ["agent", "engine"]):
                env = sides[side][1]
                samples.setdefault(("pass", side), []).append(once(pys[side], env))
                cpu.setdefault(("pass", side), []).append(CPU[(tuple(pys[side]), env.get("PYTHONPATH"))][-1])
            pair("status 5", 5, ("print", "status"), r)
            pair("refresh 5", 5, ("print", "status", "--refresh"), r)
            for n in counts:
                pair(f"start {n}", n, ("start",), r)
                pair(f"stop {n}", n, ("stop",), r)
        load1 = os.getloadavg()

        labels = {"status 5": "print status (cached), 5", "refresh 5": "print status --refresh, 5 checks",
                  "start 5": "start, 5 [app#N]", "stop 5": "stop, 5 [app#N]",
                  "start 50": "start, 50 [app#N]", "stop 50": "stop, 50 [app#N]", "pass": "python3 -c pass"}
        print(f"peer: OpenSVC agent ({src}, daemon-less, stdlib venv) vs osvc-engine; rounds {rounds}, "
              f"{os.cpu_count()} CPUs, load average {load0[0]:.2f} before, {load1[0]:.2f} after")
        print("wall ms, medians; cpu: user+system ms of the command and its children")
        print(f"{'measure':<34} {'engine ms':>10} {'agent ms':>10} {'agent/engine':>13}")
        keys = ["status 5", "refresh 5"] + [f"{a} {n}" for n in counts for a in ("start", "stop")] + ["pass"]
        for key in keys:
            e, a = statistics.median(samples[(key, "engine")]), statistics.median(samples[(key, "agent")])
            ce, ca = statistics.median(cpu[(key, "engine")]), statistics.median(cpu[(key, "agent")])
            print(f"{labels[key]:<34} {e * 1e3:>10.1f} {a * 1e3:>10.1f} {a / e:>13.2f}")
            print(f"{'  cpu':<34} {ce * 1e3:>10.1f} {ca * 1e3:>10.1f} {ca / ce if ce else float('nan'):>13.2f}")
    finally:
        os.chdir("/")
        shutil.rmtree(base, ignore_errors=True)
        for made in sorted(set(glob.glob(CGROUPS)) - cgroups_before):
            for path in sorted((d for d, _, _ in os.walk(made)), reverse=True):
                try:
                    os.rmdir(path)
                except OSError as exc:
                    print(f"peer.py: left {path}: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
