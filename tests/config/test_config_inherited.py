"""What a resource reads besides its own section: DEFAULT's keywords (scoped, or in their 1.5 spelling) and,
for an [app#N], the launcher its `script` names. The loader skips the keywords a section and DEFAULT do not
write (issue 19), and checks a script once when it is one of its folder's files: these must still be read,
reported and refused."""

import pytest

from config.build import build, load_service
from core.trust import UntrustedFile
from tests.helpers.cli import write_launcher

APPS = "[DEFAULT]\nnodes = node1 node2\n{default}\n[app#1]\nscript = a\n{own}\n[app#2]\nscript = a\n"


def load(node, default="", own="", nodename="node1"):
    text = APPS.format(default=default, own=own)
    return build(node, "svc", text, "svc.env", nodename=nodename, environ={})


def test_a_keyword_written_only_in_default_under_a_scope_reaches_every_resource_of_that_node(node):
    default = "pre_start@node1 = /bin/one\nrestart@nodes = 2\nstart_requires@node2 = app#2\n"
    spec, problems = load(node, default)
    assert [p for p in problems if p.fatal] == []
    assert [(r.triggers, r.restart, r.requires) for r in spec.resources if r.rid.startswith("app#")] == \
        [({"pre_start": "/bin/one"}, 2, {})] * 2
    spec, _ = load(node, default, nodename="node2")
    assert [(r.triggers, r.requires) for r in spec.resources if r.rid.startswith("app#")] == \
        [({}, {"start": [("app#2", ("up", "stdby up"))]})] * 2


def test_a_15_spelling_written_in_default_is_read_as_its_keyword(node):
    spec, problems = load(node, "post_syncnodes = /bin/after\n")
    assert [p for p in problems if p.fatal] == []
    assert spec.resource("app#1").triggers == {"post_sync_nodes": "/bin/after"}


def test_a_bad_value_written_only_in_default_is_reported_at_its_line(node):
    _, problems = load(node, "restart@node1 = often\n")
    assert [str(p) for p in problems] == ["svc.env:3: [DEFAULT] restart@node1: 'often' is not an integer"]


@pytest.mark.parametrize("where", ["folder", "subfolder", "elsewhere"])
def test_an_app_script_others_can_write_is_refused(node, tmp_path, where):
    folder = node.launchers_dir("svc")
    write_launcher(folder / "a", "true")
    script = {"folder": folder / "a", "subfolder": folder / "sub" / "b", "elsewhere": tmp_path / "b"}[where]
    write_launcher(script, "true")
    script.chmod(0o777)
    written = script.relative_to(folder) if where == "subfolder" else script
    (node.etc / "svc.env").write_text(f"[DEFAULT]\nnodes = node1\n\n[app#1]\nscript = {written}\n")
    with pytest.raises(UntrustedFile, match=f"launcher {script} is writable by group and others"):
        load_service(node, "svc", nodename="node1")
