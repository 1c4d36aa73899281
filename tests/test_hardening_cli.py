"""Issue 17 item 20, the command line's friction: a mistyped action gets a "did you mean", an unknown service
names the etc/ searched, `validate config` says when a file is valid, an error is printed once on a terminal,
and a resource's error is logged under the resource's name."""

import os
import pty
import select
import subprocess

from tests.helpers.cli import COMMAND, osvc
from tests.helpers.launchers import launcher_service


def last_line(r):
    return r.stderr.splitlines()[-1]


def test_a_mistyped_action_gets_the_closest_actions(osvc_root):
    r = osvc(osvc_root, "-s", "web", "sttart")
    assert r.returncode == 2
    assert last_line(r) == ("osvc-engine: error: unknown action 'sttart': did you mean 'start', 'startip' or "
                            "'starthb'? (see osvc-engine --help)")


def test_the_first_word_of_actions_lists_them(osvc_root):
    r = osvc(osvc_root, "-s", "web", "print")
    assert last_line(r).startswith("osvc-engine: error: unknown action 'print': did you mean 'print status', "
                                   "'print config'")


def test_nothing_close_is_no_suggestion(osvc_root):
    r = osvc(osvc_root, "-s", "web", "xyzzy")
    assert last_line(r) == "osvc-engine: error: unknown action 'xyzzy' (see osvc-engine --help)"


def test_an_unknown_service_names_the_etc_searched(tmp_path):
    root = tmp_path / "never-set-up"
    r = osvc(root, "-s", "web1", "start")
    assert r.returncode == 4
    assert r.stderr == f"osvc-engine: error: unknown service 'web1' in {root}/etc (services there: none)\n"
    r = osvc(root, "-s", "web*", "start")
    assert r.stderr == f"osvc-engine: error: no service matches 'web*' in {root}/etc (services there: none)\n"


def test_validate_config_says_so_when_the_file_is_valid(osvc_root):
    launcher_service(osvc_root)
    r = osvc(osvc_root, "-s", "web", "validate", "config")
    assert (r.returncode, r.stdout) == (0, f"{osvc_root}/etc/web.env: valid, no problem found\n")


def test_a_resource_s_error_is_logged_under_the_resource_s_name(osvc_root):
    state = launcher_service(osvc_root)
    (state / "b.fail").touch()
    r = osvc(osvc_root, "-s", "web", "start")
    assert r.returncode == 1
    errors = [line.split(None, 1)[1] for line in r.stdout.splitlines() if " ERROR " in line]
    assert "ERROR   WEB.APP#2   b start failed" in errors
    assert not any(line.startswith("ERROR   WEB ") for line in errors), errors


def on_a_terminal(root, *args):
    """What a terminal shows of `osvc-engine args` (stdout and stderr both on one pty), and its rc."""
    leader, follower = pty.openpty()
    env = {**os.environ, "OSVC_ROOT": str(root), "OSVC_NODENAME": "node1"}
    proc = subprocess.Popen([*COMMAND, *args], stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(leader, 4096)
        except OSError:           # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(), b"".join(chunks).decode()


def test_an_error_is_printed_once_on_a_terminal_and_still_reaches_a_script_s_stderr(osvc_root):
    launcher_service(osvc_root)
    assert osvc(osvc_root, "-s", "web", "freeze").returncode == 0
    message = "Abort action 'start' for frozen service. Use --force to override."
    rc, shown = on_a_terminal(osvc_root, "-s", "web", "start")
    assert rc == 1 and shown.count(message) == 1, shown
    assert " ERROR   WEB  " in shown                  # the console's 1.5 line is the one shown
    r = osvc(osvc_root, "-s", "web", "start")        # pipes: a script reads the error on stderr
    assert r.returncode == 1 and message in r.stdout and r.stderr == f"osvc-engine: error: {message}\n"
