"""The cached `print status` fast path (cli.fast_print_status): the same output as the full path
(argparse, core.node, engine.commands.status) for the forms it takes, and None (the full path runs)
for everything else, so errors stay the full path's."""

import os
import subprocess
import sys
import time

import pytest

import cli
from tests.helpers.cli import run, write_launcher

ENV = """[DEFAULT]
nodes = node1

[app#1]
script = {script}
start = 1
stop = 1
check = 1
"""


@pytest.fixture
def cached(osvc_root, capsys):
    """Service web with one app resource, started: its status cached."""
    script = osvc_root / "bin" / "web_a1"
    flag = osvc_root / "flag"
    write_launcher(script, f'case "$1" in start) touch {flag};; stop) rm -f {flag};; status) test -e {flag};; esac')
    (osvc_root / "etc" / "web.env").write_text(ENV.format(script=script))
    assert run(capsys, "-s", "web", "start")[0] == 0
    return osvc_root


def full(capsys, *argv):
    rc = cli.run(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("argv", [
    ("-s", "web", "print", "status"),
    ("print", "status", "-s", "web"),
    ("--service", "web", "print", "status"),
    ("--service=web", "print", "status", "--format", "text"),
    ("-s", "web", "print", "status", "--format", "json"),
    ("-s", "web", "--format=json", "print", "status"),
])
def test_same_output_as_the_full_path(cached, capsys, argv):
    assert cli.fast_print_status(list(argv)) is not None
    rc, out, err = run(capsys, *argv)
    assert (rc, out, err) == full(capsys, *argv)
    assert "app#1" in out and "up" in out


@pytest.mark.parametrize("argv", [
    ("-s", "nosuch", "print", "status"),          # unknown: NotFound from the full path
    ("-s", "we*", "print", "status"),             # a glob
    ("-s", "web,web", "print", "status"),
    ("-s", "../web", "print", "status"),          # invalid name: UsageError
    ("-s", "node", "print", "status"),
    ("-s=web", "print", "status"),                # argparse reads '=web'
    ("-s", "web", "-s", "web", "print", "status"),
    ("-s", "web", "print", "status", "--format", "yaml"),
    ("-s", "web", "print", "status", "--color", "yes"),
    ("-s", "web", "print", "status", "--refresh"),
    ("-s", "web", "--", "print", "status"),
    ("-s", "web", "json", "status"),
    ("-s", "web", "print"),
    ("-s", "web", "print", "status", "--form", "json"),   # an abbreviation argparse takes
    ("-s",),
])
def test_other_forms_take_the_full_path(cached, argv):
    assert cli.fast_print_status(list(argv)) is None


def test_stale_missing_or_malformed_cache_takes_the_full_path(cached, capsys):
    argv = ["-s", "web", "print", "status"]
    cache = cached / "var" / "web" / "status.json"
    assert cli.fast_print_status(argv) is not None
    later = time.time() + 5
    os.utime(cached / "etc" / "web.env", (later, later))      # the env file changed since: re-evaluate
    assert cli.fast_print_status(argv) is None
    assert run(capsys, *argv)[0] == 0                          # the full path evaluates and caches again
    assert cli.fast_print_status(argv) is None                 # (the env file is still in the future)
    os.utime(cached / "etc" / "web.env", (later - 3600, later - 3600))
    assert cli.fast_print_status(argv) is not None
    (cached / "etc" / "web.d").mkdir()
    os.utime(cached / "etc" / "web.d", (later + 5, later + 5))
    assert cli.fast_print_status(argv) is None
    os.rmdir(cached / "etc" / "web.d")
    cache.write_text('{"svcname": "web"} trailing')
    assert cli.fast_print_status(argv) is None
    cache.write_text("[1, 2]")
    assert cli.fast_print_status(argv) is None
    cache.unlink()
    assert cli.fast_print_status(argv) is None


def test_json_scanner_reads_as_json_does():
    import json

    for text in ('{"a": [1, 2.5, -3e2, null, true, false, "x\\u00e9\\n"], "b": {"c": NaN}}', ' \n{"a": 1}\n '):
        assert repr(cli._fast_json(text)) == repr(json.loads(text))
    for bad in ('{"a": 1', '{"a": 1}{', '{"a": 1} x', ""):
        with pytest.raises((ValueError, StopIteration)):
            cli._fast_json(bad)


def test_the_cached_read_loads_no_argparse_re_nor_actions_table(cached):
    """Nothing the full path needs: argparse, re, enum, pathlib, json; nor (issue 19) the actions table
    (domain.actions) and importlib (and warnings with it)."""
    code = ("import sys, cli; rc = cli.main(['-s', 'web', 'print', 'status']); "
            "print(sorted(m for m in ('argparse', 're', 'enum', 'pathlib', 'json', 'domain.actions', 'importlib', "
            "'warnings') if m in sys.modules), rc)")
    out = subprocess.run([sys.executable, "-c", code], env=os.environ, capture_output=True, text=True,
                         cwd=cli.__file__.rsplit("/", 1)[0], check=True).stdout
    assert out.splitlines()[-1] == "[] 0"


def test_the_actions_table_still_reads_as_module_attributes():
    from domain import actions

    assert cli.ACTION_TABLE is actions.ACTIONS
    assert cli.ACTIONS is cli.ACTIONS
    assert cli.ACTIONS["start"] == (actions.ACTIONS["start"].handler, actions.ACTIONS["start"].needs_service,
                                    actions.ACTIONS["start"].help, actions.ACTIONS["start"].example)
    with pytest.raises(AttributeError):
        _ = cli.NO_SUCH_NAME
