"""Crash recovery of a service of real resources (an ip on a veth in a network namespace, a loop
device, an ext4 filesystem on it, 1.8 app launchers), killed with SIGKILL at EVERY transition
boundary of a start, a stop and a failed start with rollback.

After each crash: `recover` brings the journal and the machines in line with reality (each machine
says what a fresh probe sees), `journal verify` and `journal replay --check` pass, and `recover
--resume` completes the action without repeating a side effect: no mutating command (ip addr add,
losetup -f, mount, launcher start; and their stop mirrors) runs again for a resource the recovery
found already where the action was taking it.
"""

import subprocess
import time

import pytest

from tests.helpers.cli import osvc, real_service_env, write_launcher
from tests.helpers.crash import actions, commands_of, count_transitions, crash_cycle, kill_points, transition_names
from tests.helpers.loop import attached, mounted_in
from tests.helpers.netns import ns_ip

ADDR = "10.78.0.10"
SCRIPT = """\
f="{state}/{name}"
case "$1" in
  start) [ -e "$f.fail" ] && {{ echo "{name} cannot start" >&2; exit 1; }}; test -d "{mnt}/lost+found" && touch "$f" ;;
  stop) rm -f "$f" ;;
  status) [ -e "$f" ] ;;
esac
"""
RESOURCES = ["ip#1", "disk#1", "fs#1", "app#1", "app#2"]
# the transitions of an uncrashed action, each a kill point of its matrix
START = ["start", *(f"{rid}.{e}" for rid in RESOURCES for e in ("start", "started")), "started"]  # 12
STOP = ["stop", *(f"{rid}.{e}" for rid in reversed(RESOURCES) for e in ("stop", "stopped")), "stopped"]  # 12
# start, 4 x 2, app#2 start + start_failed, start_failed, rollback, 4 x 2 stops, rolled_back: 22
FAILED_START = ["start", *(f"{rid}.{e}" for rid in RESOURCES[:4] for e in ("start", "started")),
                "app#2.start", "app#2.start_failed", "start_failed", "rollback",
                *(f"{rid}.{e}" for rid in reversed(RESOURCES[:4]) for e in ("stop", "stopped")), "rolled_back"]


@pytest.fixture
def real(osvc_root, netns, loop_image, mount_ns):
    subprocess.run(["mkfs.ext4", "-q", "-F", str(loop_image)], check=True)
    mnt = loop_image.parent / "mnt"
    state = osvc_root / "state"
    state.mkdir()
    for name in ("a", "b"):
        write_launcher(osvc_root / "etc" / "real.d" / name, SCRIPT.format(state=state, name=name, mnt=mnt))
    (osvc_root / "etc" / "real.env").write_text(real_service_env(ADDR, loop_image, mnt) + """\

[app#1]
script = a
start = 10
stop = 10
check = 10

[app#2]
script = b
start = 20
stop = 20
check = 20
""")
    return {"ns": netns, "image": loop_image, "mnt": mnt, "state": state,
            "mount_ns": mount_ns, "wrap": ("nsenter", f"--net=/run/netns/{netns}", f"--mount={mount_ns}")}


def reality(real, settle=10.0):
    """What is really up, by resource, from the system itself (not from the engine). A loop device
    detached while its last user was releasing it disappears a moment later (autoclear): when the
    answer is mixed, look again for up to `settle` seconds."""
    deadline = time.monotonic() + settle
    while True:
        seen = _reality(real)
        if len(set(seen.values())) == 1 or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


def _reality(real):
    return {"ip#1": f"inet {ADDR}/24" in ns_ip(real["ns"], "-o", "addr", "show", "dev", "eth0").stdout,
            "disk#1": len(attached(real["image"])) == 1, "fs#1": mounted_in(real["mount_ns"], real["mnt"]),
            "app#1": (real["state"] / "a").exists(), "app#2": (real["state"] / "b").exists()}


# (rid, direction) of a mutating command; None for probes
def mutation(rid, argv):
    words = [str(w) for w in argv]
    if words[:3] == ["ip", "addr", "add"]:
        return "start"
    if words[:3] == ["ip", "addr", "del"]:
        return "stop"
    if words[:1] == ["losetup"]:
        return {"-f": "start", "-d": "stop"}.get(words[1] if len(words) > 1 else "")
    if words[:1] == ["mount"]:
        return "start"
    if words[:1] == ["umount"]:
        return "stop"
    if rid.startswith("app#") and words[-1:] in (["start"], ["stop"]):
        return words[-1]
    return None


def mutations(root, action_id, direction):
    return [rid for rid, argv in commands_of(root, "real", action_id) if mutation(rid, argv) == direction]


def set_reality(real, up):
    """Bring the service to all up or all down through the engine (not crashed)."""
    r = osvc(real["root"], "-s", "real", "start" if up else "stop", wrap=real["wrap"])
    assert r.returncode == 0, r.stdout + r.stderr
    seen = reality(real)
    assert set(seen.values()) == {up}, f"{sorted(seen.items())}\n{r.stdout}"


def uncrashed_transitions(real, argv):
    """(rc, number of transitions, their names) of the action run to its end."""
    r = osvc(real["root"], "-s", "real", *argv, wrap=real["wrap"])
    last = actions(real["root"], "real")[-1][0]
    return (r.returncode, count_transitions(real["root"], "real", last),
            transition_names(real["root"], "real", last))


def not_repeated(real, cycle, direction):
    """The resumed action mutates only what the recovery did not find already done."""
    target = "up" if direction == "start" else "down"
    done = {rid for rid, state in cycle.recovered_states.items() if rid and state == target}
    again = set(mutations(real["root"], cycle.resumed_id, direction)) & done
    assert not again, f"{direction} repeated on {sorted(again)} after recovery found them {target}"


@pytest.fixture
def realroot(real, osvc_root):
    real["root"] = osvc_root
    return real


# --- the kill points: what an uncrashed action journals ------------------------------------------------
def test_start_kill_points(realroot):
    assert uncrashed_transitions(realroot, ["start"]) == (0, len(START), START)


def test_stop_kill_points(realroot):
    set_reality(realroot, up=True)
    assert uncrashed_transitions(realroot, ["stop"]) == (0, len(STOP), STOP)


def test_failed_start_kill_points(realroot):
    (realroot["state"] / "b.fail").touch()
    assert uncrashed_transitions(realroot, ["start"]) == (1, len(FAILED_START), FAILED_START)
    assert set(reality(realroot).values()) == {False}


# --- killed at each of them: one test a kill point ----------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("n", kill_points(START))
def test_start_killed_at_every_transition(realroot, n):
    real = realroot
    set_reality(real, up=False)
    cycle = crash_cycle(real["root"], "real", ["start"], n, wrap=real["wrap"])
    assert cycle.resume_rc == 0, cycle.resume_out
    assert set(reality(real).values()) == {True}, n
    not_repeated(real, cycle, "start")
    started = mutations(real["root"], cycle.crashed_id, "start") + mutations(real["root"], cycle.resumed_id, "start")
    assert sorted(started) == ["app#1", "app#2", "disk#1", "fs#1", "ip#1"], (n, started)   # each once


@pytest.mark.slow
@pytest.mark.parametrize("n", kill_points(STOP))
def test_stop_killed_at_every_transition(realroot, n):
    real = realroot
    set_reality(real, up=True)
    cycle = crash_cycle(real["root"], "real", ["stop"], n, wrap=real["wrap"])
    assert cycle.resume_rc == 0, cycle.resume_out
    assert set(reality(real).values()) == {False}, n
    not_repeated(real, cycle, "stop")
    stopped = mutations(real["root"], cycle.crashed_id, "stop") + mutations(real["root"], cycle.resumed_id, "stop")
    assert sorted(stopped) == ["app#1", "app#2", "disk#1", "fs#1", "ip#1"], (n, stopped)


@pytest.mark.slow
@pytest.mark.parametrize("n", kill_points(FAILED_START))
def test_failed_start_with_rollback_killed_at_every_transition(realroot, n):
    real = realroot
    (real["state"] / "b.fail").touch()
    set_reality(real, up=False) if any(reality(real).values()) else None
    cycle = crash_cycle(real["root"], "real", ["start"], n, wrap=real["wrap"])
    assert cycle.resume_rc == 1, cycle.resume_out          # b still cannot start
    # the resumed start rolled back what it started AND what the interrupted one had started
    assert set(reality(real).values()) == {False}, (n, reality(real), cycle.resume_out)
    not_repeated(real, cycle, "start")
    assert "trying to rollback start on" in cycle.resume_out
