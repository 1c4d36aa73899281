"""Issue 17 item 8: one service-name rule (core/node.py check_service_name), enforced by every per-service path, so
`create` cannot write outside etc/ and no name forges log lines or hits ENAMETOOLONG. A malformed name is a
usage error (exit 2)."""


import pytest

from core import node as nodes
from core.errors import EXIT_USAGE, UsageError
from tests.helpers.cli import osvc, run

MAX = 128     # nodes.SERVICE_NAME_MAX


GOOD = ["web", "vm188", "ovmguest1", "deb1.opensvc.com", "a_b-c", "9x", "W", "x" * MAX, "web.sync"]
BAD = ["", "../../x", "a/b", "/abs", "nl\nx", ".hidden", "-x", "--help", "a..b", "x" * (MAX + 1),
       "auth", "node", "a b", "caf\u00e9", "$(id)", "a;b", "tab\tx", "x\x1b[31m", "*", "a,b"]


@pytest.mark.parametrize("name", GOOD)
def test_agent_names_are_accepted(name):
    assert nodes.SERVICE_NAME_MAX == MAX
    assert nodes.check_service_name(name) == name


@pytest.mark.parametrize("name", BAD, ids=repr)
def test_other_names_are_refused(node, name):
    with pytest.raises(UsageError) as exc:
        nodes.check_service_name(name)
    assert exc.value.exit_code == EXIT_USAGE
    assert str(exc.value).startswith("invalid service name ") and "\n" not in str(exc.value)
    for path_of in (node.env_file, node.launchers_dir, node.svc_var, node.lock_path, node.log_path):
        with pytest.raises(UsageError):
            path_of(name)


def test_service_locks_keep_their_suffixes(node):
    assert node.lock_path("web.sync") == node.var / "lock" / "web.sync"
    assert node.lock_path("x" * MAX + ".sync").name.endswith(".sync")


def test_create_cannot_write_outside_etc(osvc_root, tmp_path):
    outside = tmp_path / "v"
    outside.mkdir()
    res = osvc(osvc_root, "-s", "../../v/evil", "create", "--kw", "DEFAULT.app=X")
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("osvc-engine: error: invalid service name '../../v/evil': ")
    assert list(outside.iterdir()) == [] and list((osvc_root / "etc").iterdir()) == []


@pytest.mark.parametrize("name", ["nl\nx", "a/b", "auth", "node", "x" * 300, ".hidden"], ids=repr)
def test_create_refuses_names_outside_the_rule(capsys, osvc_root, name):
    rc, out, err = run(capsys, "-s", name, "create", "--kw", "DEFAULT.app=X")
    assert (rc, out) == (2, "") and "invalid service name" in err and "Traceback" not in err
    assert list((osvc_root / "etc").iterdir()) == []


def test_a_valid_name_is_created(capsys, osvc_root):
    rc, out, _ = run(capsys, "-s", "db1.example.com", "create", "--kw", "DEFAULT.app=X")
    assert rc == 0 and out == f"created {osvc_root / 'etc' / 'db1.example.com.env'}\n"


def test_a_malformed_name_given_to_an_action_is_a_usage_error(capsys, osvc_root):
    rc, out, err = run(capsys, "-s", "../../x", "print", "status")
    assert rc == EXIT_USAGE and "invalid service name '../../x'" in err


# -- issue 17 item 4: a glob reports a bad env file and goes on with the others ------------------------------

def test_a_glob_reports_the_bad_env_file_and_goes_on(capsys, osvc_root):
    etc = osvc_root / "etc"
    (etc / "a1.env").write_text("[DEFAULT]\nnodes = node1\n[fs#1]\ntype = ext4\n")     # mnt and dev missing
    for name in ("a2", "a3"):
        (etc / f"{name}.env").write_text("[DEFAULT]\nnodes = node1\n[app#1]\nscript = /bin/true\n")
    rc, out, err = run(capsys, "-s", "a*", "validate", "config")
    assert rc == 3                                   # the worst exit code: a bad env file
    assert "a1.env:" in out + err
    assert f"{etc}/a2.env: valid, no problem found\n{etc}/a3.env: valid, no problem found\n" in out     # not bad
    rc, out, err = run(capsys, "-s", "a*", "print", "status")
    assert rc == 3 and "a1.env" in err
    assert "a2\n" in out and "a3\n" in out             # both good services were drawn after the bad one
