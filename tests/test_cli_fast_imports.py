"""Issue 19: the cached `print status` (cli.fast_print_status) does not load the actions table
(domain.actions) nor importlib (and warnings with it): only the full path needs them. tests/test_cli_fast.py
holds the two paths to the same output."""

import os
import subprocess
import sys

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
    script = osvc_root / "bin" / "web_a1"
    flag = osvc_root / "flag"
    write_launcher(script, f'case "$1" in start) touch {flag};; stop) rm -f {flag};; status) test -e {flag};; esac')
    (osvc_root / "etc" / "web.env").write_text(ENV.format(script=script))
    assert run(capsys, "-s", "web", "start")[0] == 0
    return osvc_root


def test_the_cached_read_loads_neither_the_actions_table_nor_importlib(cached):
    code = ("import sys, cli; rc = cli.main(['-s', 'web', 'print', 'status']); "
            "print(sorted(m for m in ('domain.actions', 'importlib', 'warnings') if m in sys.modules), rc)")
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
        cli.NO_SUCH_NAME
