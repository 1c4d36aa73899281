"""bench/sh_cost (issue 19, `python bench/cli.py --sh-cost`): the folder on PYTHONPATH really swaps the runner's
spawn for its subprocess one, and that one keeps the sh runner's contract, so the bench compares like with like.

Every check runs in a child interpreter (the swap is process-wide, and it happens at interpreter start). Timings
are bounds only a hang would miss, never measures."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import COMMAND, journal_rows, write_launcher

REPO = Path(__file__).resolve().parents[2]
SH_COST = REPO / "bench" / "sh_cost"

# Runs the runner on each case of argv[1] (JSON) and prints what it returned or raised, durations and pids left out.
PROBE = r"""
import json, os, sys, time
swapped_at_start = "drivers.runner" in sys.modules
import drivers.runner as runner

out = {"spawn": runner.Runner._spawn.__module__, "runner_at_start": swapped_at_start, "cases": []}
for case in json.loads(sys.argv[1]):
    argv, kwargs = case["argv"], case.get("kwargs", {})
    t0 = time.monotonic()
    try:
        res = runner.Runner().run(argv, **kwargs)
        got = {"rc": res.rc, "out": res.out, "err": res.err, "timed_out": res.timed_out}
    except runner.DriverError as exc:
        res = getattr(exc, "result", None)
        got = {"raised": type(exc).__name__, "message": str(exc)}
        if res is not None:
            got.update(rc=res.rc, out=res.out, err=res.err, timed_out=res.timed_out)
    got["elapsed"] = time.monotonic() - t0
    if "out_path" in kwargs:
        with open(kwargs["out_path"]) as f:
            got["file"] = f.read()
    out["cases"].append(got)
print(json.dumps(out))
"""


def env_with(sh_cost: bool, **extra) -> dict:
    """This environment, the repository (and bench/sh_cost, first, when sh_cost) on PYTHONPATH."""
    paths = [str(SH_COST)] if sh_cost else []
    paths += [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


def probe(cases, sh_cost=True, cwd=None):
    res = subprocess.run([sys.executable, "-c", PROBE, json.dumps(cases)], env=env_with(sh_cost), cwd=cwd,
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_the_folder_swaps_the_spawn_after_drivers_runner_loads(tmp_path):
    got = probe([{"argv": ["/bin/echo", "hi"]}], cwd=tmp_path)
    assert got["spawn"] == "sitecustomize"      # bench/sh_cost/sitecustomize.py's _spawn
    assert not got["runner_at_start"]            # the interpreter's start did not load drivers.runner
    assert got["cases"][0]["out"] == "hi\n" and got["cases"][0]["rc"] == 0
    assert probe([], sh_cost=False, cwd=tmp_path)["spawn"] == "drivers.runner"


def test_same_results_as_the_sh_spawn(tmp_path):
    log = tmp_path / "out.log"
    cases = [
        {"argv": ["/bin/echo", "hi"]},
        {"argv": ["sh", "-c", "echo out; echo err >&2; exit 3"], "kwargs": {"check": False}},
        {"argv": ["sh", "-c", "echo out; echo err >&2; exit 3"]},                       # CommandError
        {"argv": ["cat"]},                                                            # stdin: /dev/null
        {"argv": ["cat"], "kwargs": {"input": "hello\n"}},
        {"argv": ["cat"], "kwargs": {"input": "bytes\n", "out_path": str(log)}},
        {"argv": ["sh", "-c", "echo out; echo err >&2"], "kwargs": {"out_path": str(log)}},
        {"argv": ["sh", "-c", 'pwd; echo "$X"'], "kwargs": {"env": {"X": "y"}, "cwd": str(tmp_path)}},
        {"argv": [sys.executable, "-c", "import os; print(os.getsid(0) == os.getpid())"]},   # a new session
        {"argv": ["sh", "-c", "kill -TERM $$"], "kwargs": {"check": False}},           # 128+15
        {"argv": ["no-such-command-sh-cost"]},
        # a process left holding the pipes: both give it 2 s after the command exits, not its 4 s
        {"argv": ["sh", "-c", "(sleep 4 &); echo left"]},
    ]
    subprocess_side, sh_side = probe(cases, cwd=tmp_path), probe(cases, sh_cost=False, cwd=tmp_path)
    for got in (subprocess_side, sh_side):
        assert got["cases"][-1]["elapsed"] < 3.9
        for case in got["cases"]:
            del case["elapsed"]
    assert subprocess_side["cases"] == sh_side["cases"]
    by = dict(zip((json.dumps(c) for c in cases), subprocess_side["cases"]))
    assert by[json.dumps(cases[6])]["out"] == "out\nerr\n" == by[json.dumps(cases[6])]["file"]
    assert by[json.dumps(cases[5])] == {"rc": 0, "out": "bytes\n", "err": "", "timed_out": False, "file": "bytes\n"}
    assert by[json.dumps(cases[9])]["rc"] == 143
    assert by[json.dumps(cases[8])]["out"] == "True\n"


def test_a_timeout_kills_the_process_group(tmp_path):
    """The command's child's child holds the pipes and sleeps 5 s: the watchdog kills the whole group at 0.5 s."""
    pidfile = tmp_path / "grandchild"
    script = f"sh -c 'echo $$ > {pidfile}; exec sleep 5' & wait"
    got = probe([{"argv": ["sh", "-c", script], "kwargs": {"timeout": 0.5}}], cwd=tmp_path)
    case = got["cases"][0]
    assert got["spawn"] == "sitecustomize"
    assert case["raised"] == "CommandTimeout" and case["timed_out"] and case["rc"] == 137
    assert case["elapsed"] < 2.5
    grandchild = int(pidfile.read_text())
    try:
        state = Path(f"/proc/{grandchild}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        state = "gone"
    assert state in ("gone", "Z", "X")


def test_an_exec_failure_is_a_driver_error(tmp_path):
    bad = tmp_path / "bad"
    bad.write_text("#!/no/such/interpreter\n")
    bad.chmod(0o755)
    case = probe([{"argv": [str(bad)]}], cwd=tmp_path)["cases"][0]
    assert case["raised"] == "DriverError"
    assert case["message"] == (f"{bad}: cannot execute: its interpreter /no/such/interpreter is not there "
                               f"(No such file or directory)")


# A real `osvc-engine` run (cli.main, as the entry point calls it) whose swapped spawn is wrapped to count its runs.
SPY = r"""
import sys
import sitecustomize

assert "drivers.runner" not in sys.modules
spawned = []
swapped = sitecustomize._spawn

def spy(self, command, argv, *args):
    spawned.append(argv)
    return swapped(self, command, argv, *args)

sitecustomize._spawn = spy          # what the swap installs when drivers.runner loads
from cli import main

rc = main(sys.argv[1:])
import drivers.runner
assert drivers.runner.Runner._spawn is spy, drivers.runner.Runner._spawn
print("spawned", len(spawned), *(a[1] for a in spawned), file=sys.stderr)
sys.exit(rc)
"""


@pytest.fixture
def app_service(osvc_root):
    """Service web, one `[app#1]` launcher that says what it does on stdout and stderr."""
    script = osvc_root / "etc" / "web.d" / "web_a1"
    flag = osvc_root / "flag"
    write_launcher(script, f'echo "$1 out"; echo "$1 err" >&2\n'
                           f'case "$1" in start) touch {flag};; stop) rm -f {flag};; status) test -e {flag};; esac')
    (osvc_root / "etc" / "web.env").write_text(
        "[DEFAULT]\nnodes = node1\n\n[app#1]\nscript = web_a1\nstart = 1\nstop = 1\ncheck = 1\n")
    return osvc_root


def osvc_env(root):
    return env_with(True, OSVC_ROOT=str(root), OSVC_NODENAME="node1")


def test_an_engine_action_runs_its_launchers_through_the_swapped_spawn(app_service, tmp_path):
    root = app_service
    res = subprocess.run([sys.executable, "-c", SPY, "-s", "web", "start"], env=osvc_env(root), cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    spawned = res.stderr.strip().splitlines()[-1].split()
    assert spawned[0] == "spawned" and int(spawned[1]) >= 1 and "start" in spawned[2:]
    assert (root / "flag").exists()
    log = root / "var" / "web" / "app" / "web_a1.start.log"
    assert log.read_text() == "start out\nstart err\n"
    commands = [r["payload"] for r in journal_rows(root, svc="web", kind="command")]
    start = [c for c in commands if c["argv"][-1] == "start"]
    assert len(start) == 1 and start[0]["rc"] == 0 and "start out" in start[0]["out_tail"]
    ends = [r for r in journal_rows(root, svc="web", kind="action") if r["event"] == "end"]
    assert ends and ends[-1]["payload"]["outcome"] == "ok" and ends[-1]["payload"]["rc"] == 0

    # and through the entry point, the folder on PYTHONPATH and nothing else
    res = subprocess.run([*COMMAND, "-s", "web", "stop"], env=osvc_env(root), cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not (root / "flag").exists()
    assert (root / "var" / "web" / "app" / "web_a1.stop.log").read_text() == "stop out\nstop err\n"
