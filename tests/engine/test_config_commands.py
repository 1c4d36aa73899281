"""The config commands through the CLI: validate/print config, get, set, unset, create, delete."""

import json
import os
import subprocess

import pytest

from tests.helpers.cli import COMMAND, run
from tests.helpers.paths import DATA

SEEDS = DATA / "seeds"

COMMENTED = """\
# header comment
[DEFAULT]
nodes = node1 node2   
; semicolon comment
drpnodes = node3

# before ip
[ip#1]
ipname = 10.0.0.1
ipname@node2 = 10.0.0.2
ipdev:eth0
run_args = not-an-ip-keyword-but-irrelevant
""".replace("run_args = not-an-ip-keyword-but-irrelevant\n", "netmask = 24\n\t# continuation comment\n")


@pytest.fixture
def web(node):
    (node.etc / "web.env").write_text(COMMENTED)
    return node.etc / "web.env"


def test_validate_clean_and_broken(capsys, node, web):
    assert run(capsys, "-s", "web", "validate", "config") == (0, f"{web}: valid, no problem found\n", "")
    web.write_text(COMMENTED + "\n[fs#1]\ndev = /dev/sdb\nbogus = 1\n")
    rc, out, err = run(capsys, "-s", "web", "validate", "config")
    assert rc == 3
    assert out == (f"{web}:15: [fs#1] mnt: missing required keyword\n"
                   f"{web}:17: [fs#1] bogus: unknown keyword for fs\n")


def test_print_config(capsys, web):
    rc, out, _ = run(capsys, "-s", "web", "print", "config")
    assert (rc, out) == (0, COMMENTED)
    rc, out, _ = run(capsys, "-s", "web", "print", "config", "--format", "json")
    assert json.loads(out) == {
        "DEFAULT": {"nodes": "node1 node2", "drpnodes": "node3"},
        "ip#1": {"ipname": "10.0.0.1", "ipname@node2": "10.0.0.2", "ipdev": "eth0", "netmask": "24"},
    }


@pytest.mark.parametrize("argv, expected", [
    (["--param", "nodes"], "node1 node2"),
    (["--param", "DEFAULT.nodes"], "node1 node2"),
    (["--param", "ip#1.ipname"], "10.0.0.1"),
    (["--param", "ip#1.ipname@node2"], "10.0.0.2"),
    (["--param", "ip#1.nodes"], "node1 node2"),         # ConfigParser: DEFAULT is inherited
    (["--param", "ip#1.ipname", "--eval"], "10.0.0.1"),
    (["--param", "drpnodes", "--eval"], "node3"),
    (["--param", "lock_timeout", "--eval"], "60"),
    (["--param", "rollback", "--eval"], "true"),
    (["--param", "ip#1.tags", "--eval"], ""),
    (["--param", "sync#i0.target", "--eval"], "drpnodes nodes"),
])
def test_get(capsys, web, argv, expected):
    rc, out, err = run(capsys, "-s", "web", "get", *argv)
    assert (rc, out, err) == (0, expected + "\n", "")


def test_get_eval_sees_this_nodes_scope(capsys, web, monkeypatch):
    monkeypatch.setenv("OSVC_NODENAME", "node2")
    assert run(capsys, "-s", "web", "get", "--param", "ip#1.ipname", "--eval")[1] == "10.0.0.2\n"
    assert run(capsys, "-s", "web", "get", "--param", "ip#1.ipname")[1] == "10.0.0.1\n"


@pytest.mark.parametrize("argv, rc, message", [
    (["--param", "ip#1.gateway"], 4, "ip#1.gateway is not set in"),
    (["--param", "fs#9.dev"], 4, "no section [fs#9]"),
    (["--param", "ip#1.bogus", "--eval"], 2, "bogus: unknown keyword for [ip#1] (ip)"),
    (["--param", "ip#1.ipname@node2", "--eval"], 2, "give ipname without @scope"),
    ([], 2, "give the keyword with --param"),
])
def test_get_errors(capsys, web, argv, rc, message):
    got_rc, out, err = run(capsys, "-s", "web", "get", *argv)
    assert got_rc == rc and message in err and err.startswith("osvc-engine: error: ")


def test_set_replaces_in_place_keeping_everything_else(capsys, web):
    assert run(capsys, "-s", "web", "set", "--param", "ip#1.ipname", "--value", "10.0.0.9")[0] == 0
    assert web.read_text() == COMMENTED.replace("ipname = 10.0.0.1", "ipname = 10.0.0.9")
    # separator style kept (ipdev:eth0); a comment line after a value is not part of it: kept
    run(capsys, "-s", "web", "set", "--param", "ip#1.ipdev", "--value", "eth1")
    run(capsys, "-s", "web", "set", "--param", "ip#1.netmask", "--value", "16")
    assert web.read_text() == COMMENTED.replace("ipname = 10.0.0.1", "ipname = 10.0.0.9") \
        .replace("ipdev:eth0", "ipdev:eth1").replace("netmask = 24\n", "netmask = 16\n")
    # a multi-line value is replaced whole
    web.write_text("[container#1]\ntype = docker\nrun_image = a\nrun_args = -a\n\t-b\n\t-c\n# end\n")
    run(capsys, "-s", "web", "set", "--param", "container#1.run_args", "--value=-d")
    assert web.read_text() == "[container#1]\ntype = docker\nrun_image = a\nrun_args = -d\n# end\n"


def test_set_adds_keywords_and_sections(capsys, web):
    assert run(capsys, "-s", "web", "set", "--param", "ip#1.gateway", "--value", "10.0.0.254")[0] == 0
    assert run(capsys, "-s", "web", "set", "--param", "lock_timeout", "--value", "90")[0] == 0
    assert run(capsys, "-s", "web", "set", "--kw", "fs#1.dev=/dev/sdb", "--kw", "fs#1.mnt=/srv")[0] == 0
    assert web.read_text() == COMMENTED.replace("drpnodes = node3\n", "drpnodes = node3\nlock_timeout = 90\n") \
        .replace("netmask = 24\n", "netmask = 24\ngateway = 10.0.0.254\n") \
        + "\n[fs#1]\ndev = /dev/sdb\nmnt = /srv\n"
    assert run(capsys, "-s", "web", "validate", "config")[0] == 0


@pytest.mark.parametrize("argv, message", [
    (["--param", "ip#1.bogus", "--value", "1"], "[ip#1] bogus: unknown keyword for ip"),
    (["--param", "foo#1.bar", "--value", "1"], "[foo#1] unknown section family"),
    (["--param", "ip#1.always_on@node1", "--value", "nodes"], "always_on is not scopable"),
    (["--param", "rollback", "--value", "perhaps"], "[DEFAULT] rollback: 'perhaps' is not a boolean"),
    (["--param", "fs#1.dev", "--value", "/dev/sdb"], "[fs#1] mnt: missing required keyword (set a new section"),
    (["--param", "ip#1.ipname", "--value", "{nosuch}"], "{nosuch}: unresolved reference"),
])
def test_set_refuses_what_would_not_load(capsys, web, argv, message):
    before = web.read_text()
    rc, out, err = run(capsys, "-s", "web", "set", *argv)
    assert rc == 3 and message in err and "unchanged" in err
    assert web.read_text() == before


def test_unset(capsys, web):
    assert run(capsys, "-s", "web", "unset", "--param", "ip#1.netmask")[0] == 0
    assert web.read_text() == COMMENTED.replace("netmask = 24\n", "")
    assert run(capsys, "-s", "web", "unset", "--param", "ip#1.ipname@node2")[0] == 0
    assert "10.0.0.2" not in web.read_text()
    rc, out, err = run(capsys, "-s", "web", "unset", "--param", "ip#1.gateway")
    assert rc == 0 and "nothing to do" in err
    before = web.read_text()
    rc, out, err = run(capsys, "-s", "web", "unset", "--param", "ip#1.ipdev")
    assert rc == 3 and "[ip#1] ipdev: missing required keyword" in err and web.read_text() == before


def test_create_from_keywords_and_from_file(capsys, node, tmp_path):
    rc, out, _ = run(capsys, "-s", "new", "create", "--kw", "ip#1.ipname=10.1.1.1", "--kw", "ip#1.ipdev=eth0",
                     "--kw", "nodes=node1 node2")
    path = node.etc / "new.env"
    assert rc == 0 and out == f"created {path}\n"
    assert path.read_text() == "[DEFAULT]\nnodes = node1 node2\n\n[ip#1]\nipname = 10.1.1.1\nipdev = eth0\n"
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    rc, _, err = run(capsys, "-s", "new", "create", "--kw", "ip#1.ipname=x")
    assert rc == 1 and "already exists" in err
    rc, _, _ = run(capsys, "-s", "vm188", "create", "--config", str(SEEDS / "vm188.env"))
    assert rc == 0 and (node.etc / "vm188.env").read_text() == (SEEDS / "vm188.env").read_text()


def test_create_refuses_a_bad_config(capsys, node, tmp_path):
    bad = tmp_path / "bad.env"
    bad.write_text("[container#1]\nname = x\n")
    rc, _, err = run(capsys, "-s", "x", "create", "--config", str(bad))
    assert rc == 3 and "[container#1] type: missing required keyword" in err
    assert not (node.etc / "x.env").exists()
    rc, _, err = run(capsys, "-s", "x", "create", "--config", str(tmp_path / "missing.env"))
    assert rc == 2 and "No such file" in err


def test_delete(capsys, node, web):
    node.launchers_dir("web").mkdir()
    (node.launchers_dir("web") / "S10app").write_text("#!/bin/sh\n")
    node.svc_var("web").mkdir()
    rc, out, _ = run(capsys, "-s", "web", "delete")
    assert rc == 0
    assert out == f"removed {web}\nremoved {node.launchers_dir('web')}\nremoved {node.svc_var('web')}\n"
    assert not web.exists() and not node.launchers_dir("web").exists()
    rc, _, err = run(capsys, "-s", "web", "delete")
    assert rc == 4 and "unknown service 'web'" in err


def test_real_command_line(osvc_root, web):
    """The installed entry point (the venv's osvc-engine), as an operator types it."""
    env = {**os.environ}
    out = subprocess.run([*COMMAND, "-s", "web", "get", "--param", "ip#1.ipname", "--eval"], env=env,
                         capture_output=True, text=True)
    assert (out.returncode, out.stdout) == (0, "10.0.0.1\n")
    out = subprocess.run([*COMMAND, "-s", "web", "set", "--param", "ip#1.nope", "--value", "1"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 3 and "nope: unknown keyword" in out.stderr


def test_get_eval_env_section(capsys, web):
    web.write_text(COMMENTED + "\n[env]\nport = 80\nport@node1 = 8080\nurl = http://{nodename}:{env.port}/\n")
    assert run(capsys, "-s", "web", "get", "--param", "env.url", "--eval")[1] == "http://node1:8080/\n"
    rc, _, err = run(capsys, "-s", "web", "get", "--param", "env.nope", "--eval")
    assert rc == 4 and "unresolved reference" in err
