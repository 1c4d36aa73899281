"""Issue 17, privilege side: no lock, log or launcher-log file followed through a symlink, folders with explicit
modes (item 3); auth.conf never quoted and never readable by others (item 2); files other users can write are
refused before anything runs (item 1)."""

import os
import stat
import subprocess

import pytest

from core.errors import EXIT_CONFIG, EXIT_ERROR
from tests.helpers.cli import osvc, write_launcher

VICTIM_TEXT = "precious\n"


def service(root, svc="s1", launcher=True):
    (root / "etc" / f"{svc}.env").write_text("[DEFAULT]\napp = X\n")
    if launcher:
        write_launcher(root / "etc" / f"{svc}.d" / "S10a", "echo launcher ran")


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim"
    path.write_text(VICTIM_TEXT)
    path.chmod(0o600)
    return path


def untouched(path):
    return path.read_text() == VICTIM_TEXT and stat.S_IMODE(path.stat().st_mode) == 0o600


# --- item 3: no symlink followed ---------------------------------------------------------------------------------
def test_a_symlink_planted_at_the_lock_file_is_refused_and_its_target_untouched(osvc_root, victim):
    service(osvc_root)
    (osvc_root / "var" / "lock").mkdir()
    (osvc_root / "var" / "lock" / "s1").symlink_to(victim)
    res = osvc(osvc_root, "-s", "s1", "start")
    assert res.returncode == EXIT_ERROR, res.stderr
    assert f"lock file {osvc_root}/var/lock/s1 is a symbolic link (to {victim}): refused" in res.stderr
    assert "Traceback" not in res.stderr
    assert untouched(victim)


def test_a_dangling_lock_symlink_creates_nothing_at_its_target(osvc_root, tmp_path):
    service(osvc_root)
    (osvc_root / "var" / "lock").mkdir()
    target = tmp_path / "created-through-the-link"
    (osvc_root / "var" / "lock" / "s1").symlink_to(target)
    res = osvc(osvc_root, "-s", "s1", "start")
    assert res.returncode == EXIT_ERROR and "is a symbolic link" in res.stderr
    assert not target.exists()


def test_a_symlink_planted_at_the_service_log_is_refused_and_its_target_untouched(osvc_root, victim):
    service(osvc_root)
    (osvc_root / "log" / "s1.log").symlink_to(victim)
    res = osvc(osvc_root, "-s", "s1", "start")
    assert res.returncode == EXIT_ERROR, res.stderr
    assert f"log file {osvc_root}/log/s1.log is a symbolic link (to {victim}): refused" in res.stderr
    assert "Traceback" not in res.stderr
    assert untouched(victim)


def test_a_symlink_planted_at_a_launcher_log_is_refused_and_its_target_untouched(osvc_root, victim):
    service(osvc_root)
    app = osvc_root / "var" / "s1" / "app"
    app.mkdir(parents=True)
    (app / "S10a.start.log").symlink_to(victim)
    res = osvc(osvc_root, "-s", "s1", "start")
    assert res.returncode != 0
    assert f"launcher log {app}/S10a.start.log is a symbolic link (to {victim}): refused" in res.stdout + res.stderr
    assert untouched(victim)


def test_the_engine_folders_are_made_0755_whatever_the_umask(tmp_path):
    root = tmp_path / "fresh"
    subprocess.run(["sh", "-c", "umask 000; exec \"$@\"", "sh", *osvc_argv(), "-s", "u1", "create", "--kw",
                    "DEFAULT.app=X"], env={**os.environ, "OSVC_ROOT": str(root), "OSVC_NODENAME": "node1"},
                   check=True, capture_output=True)
    subprocess.run(["sh", "-c", "umask 000; exec \"$@\"", "sh", *osvc_argv(), "-s", "u1", "start"],
                   env={**os.environ, "OSVC_ROOT": str(root), "OSVC_NODENAME": "node1"}, check=True,
                   capture_output=True)
    folders = [root, *(p for p in root.rglob("*") if p.is_dir() and not p.is_symlink())]
    assert {"etc", "var", "log"} <= {p.name for p in folders}
    assert root / "var" / "lock" in folders and root / "var" / "u1" in folders
    modes = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in folders}
    assert set(modes.values()) == {"0o755"}, modes
    files = [p for p in root.rglob("*") if p.is_file()]
    writable = [str(p) for p in files if p.stat().st_mode & 0o022]
    assert writable == []


def osvc_argv():
    from tests.helpers.cli import COMMAND

    return COMMAND


# --- item 2: auth.conf never quoted, never readable by others ---------------------------------------------------
SECRET = "Hunter2-secret"


def leaks(root, secret=SECRET):
    """Files under the node root (auth.conf aside) holding the secret."""
    return [str(p) for p in root.rglob("*") if p.is_file() and p.name != "auth.conf" and secret.encode() in p.read_bytes()]


@pytest.mark.root
def test_a_malformed_auth_conf_is_named_by_file_and_line_never_quoted(ovm_pool):
    from tests.helpers.ovm import USER, write_auth

    root = ovm_pool.roots["ovmnode1"]
    write_auth(root, f"[ovm]\nusername = {USER}\npassword {SECRET}\n")
    status = ovm_pool.osvc("print", "status", "--refresh")
    start = ovm_pool.osvc("start", "--cluster")
    for res in (status, start):
        assert SECRET not in res.stdout + res.stderr
    assert "auth.conf:3: cannot be parsed" in " ".join((status.stdout + status.stderr).split()).replace("/ ", "/")
    assert f"{root}/etc/auth.conf:3: cannot be parsed" in start.stdout + start.stderr
    assert start.returncode != 0
    assert leaks(root) == []


@pytest.mark.root
def test_an_auth_conf_readable_by_others_is_refused_with_the_chmod_hint(ovm_pool):
    root = ovm_pool.roots["ovmnode1"]
    (root / "etc" / "auth.conf").chmod(0o644)
    res = ovm_pool.osvc("start", "--cluster")
    out = res.stdout + res.stderr
    assert res.returncode == EXIT_CONFIG, out
    assert ovm_pool.phases() == []                   # refused before anything ran: the VM was not started
    assert f"auth.conf {root}/etc/auth.conf is readable by group or others (mode 0644): refused" in out
    assert f"chmod 600 {root}/etc/auth.conf" in out


# --- item 1: files other users can write are refused before anything runs ---------------------------------------


def started(root):
    return (root / "started").exists()


def runnable_service(root):
    (root / "etc" / "s1.env").write_text(f"[DEFAULT]\napp = X\npre_start = touch {root}/started\n")
    write_launcher(root / "etc" / "s1.d" / "S10a", f"touch {root}/started")


def refused(res, path, owner, mode):
    out = res.stdout + res.stderr
    assert res.returncode == EXIT_CONFIG, out
    assert f"{path}" in out and f"owner {owner}, mode {mode}" in out and "chmod go-w" in out, out


@pytest.mark.parametrize("what", ["env", "launcher", "folder"])
def test_a_world_writable_env_file_launcher_or_launcher_folder_is_refused(osvc_root, what):
    runnable_service(osvc_root)
    path = {"env": osvc_root / "etc" / "s1.env", "launcher": osvc_root / "etc" / "s1.d" / "S10a",
            "folder": osvc_root / "etc" / "s1.d"}[what]
    path.chmod(0o777 if path.is_dir() or what == "launcher" else 0o666)
    res = osvc(osvc_root, "-s", "s1", "start")
    refused(res, path, "root", "0777" if path.is_dir() or what == "launcher" else "0666")
    assert not started(osvc_root)


def test_an_env_file_owned_by_another_user_is_refused(osvc_root):
    runnable_service(osvc_root)
    os.chown(osvc_root / "etc" / "s1.env", 65534, 65534)
    res = osvc(osvc_root, "-s", "s1", "start")
    refused(res, osvc_root / "etc" / "s1.env", "nobody", "0644")
    assert not started(osvc_root)


def test_a_symlinked_env_file_whose_target_others_can_write_is_refused(osvc_root, tmp_path):
    runnable_service(osvc_root)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o777)
    elsewhere.chmod(0o777)
    target = elsewhere / "s1.env"
    (osvc_root / "etc" / "s1.env").rename(target)
    (osvc_root / "etc" / "s1.env").symlink_to(target)
    res = osvc(osvc_root, "-s", "s1", "start")
    refused(res, elsewhere, "root", "0777")
    assert not started(osvc_root)


def test_a_group_writable_node_conf_is_refused(osvc_root):
    runnable_service(osvc_root)
    conf = osvc_root / "etc" / "node.conf"
    conf.write_text("[node]\nenv = TST\n")
    conf.chmod(0o664)
    res = osvc(osvc_root, "-s", "s1", "start")
    refused(res, conf, "root", "0664")
    assert not started(osvc_root)


def test_a_sticky_root_folder_like_tmp_above_the_root_is_accepted(osvc_root):
    runnable_service(osvc_root)
    assert os.stat("/tmp").st_mode & 0o1777 == 0o1777        # the suite's roots are below /tmp
    res = osvc(osvc_root, "-s", "s1", "validate", "config")
    assert res.returncode == 0, res.stdout + res.stderr


# --- item 1, follow-up: a launcher is trusted again just before it runs ------------------------------------------


def test_a_launcher_made_writable_after_the_load_is_refused_before_it_runs(osvc_root):
    """S10a runs first and opens S20b to everyone (as another user's swap between the load and the run would):
    S20b was trusted at load, it is checked again just before its turn and never runs."""
    (osvc_root / "etc" / "s1.env").write_text("[DEFAULT]\napp = X\n")
    folder = osvc_root / "etc" / "s1.d"
    write_launcher(folder / "S10a", f'[ "$1" = start ] && chmod 0777 {folder}/S20b; true')
    write_launcher(folder / "S20b", f'[ "$1" = start ] && touch {osvc_root}/b.ran; true')
    res = osvc(osvc_root, "-s", "s1", "start")
    refused(res, folder / "S20b", "root", "0777")
    assert not (osvc_root / "b.ran").exists()


def test_a_check_made_writable_is_not_run_by_the_status(osvc_root):
    (osvc_root / "etc" / "s1.env").write_text("[DEFAULT]\napp = X\n")
    folder = osvc_root / "etc" / "s1.d"
    write_launcher(folder / "C10a", f'touch {osvc_root}/check.ran')
    assert osvc(osvc_root, "-s", "s1", "print", "status", "--refresh").returncode == 0
    (osvc_root / "check.ran").unlink()
    from config.build import load_service
    from core.node import Node
    from engine.probe import evaluate
    from engine.session import probe_drivers

    node = Node(osvc_root, "node1")
    spec = load_service(node, "s1")          # trusted at load...
    (folder / "C10a").chmod(0o777)           # ...then opened to everyone before the probe runs it
    doc = evaluate(node, spec, probe_drivers(node, spec))
    assert not (osvc_root / "check.ran").exists()
    app = doc["resources"]["app"]
    assert app["status"] == "undef"
    assert app["log"][0].startswith(f"error: launcher {folder}/C10a is writable by group and others (owner root, "
                                    f"mode 0777): refused")
