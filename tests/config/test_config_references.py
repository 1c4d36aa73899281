"""References and expressions (docs/agent-reference.md §1.7): every form, and every error."""

import pytest

from config import references as refs
from config.build import build

BASE = """\
[DEFAULT]
nodes = n1 n2 n3
app = ERP
flex_min_nodes = 1

[env]
colour = blue
port = 8000

[fs#1]
dev = /dev/vg/{svcname}
mnt = /srv/{app}
"""


def ev(node, value, nodename="n1", environ=None, extra=""):
    """The value of ip#1.ipname set to `value` (ip#1 has a fixed ipdev)."""
    text = BASE + extra + f"\n[ip#1]\nipdev = eth0\nipname = {value}\n"
    spec, problems = build(node, "web.example.com", text, "web.env", nodename=nodename,
                           environ=environ if environ is not None else {})
    fatal = [str(p) for p in problems if p.fatal]
    return spec.resource("ip#1").conf["ipname"] if not fatal else fatal


@pytest.mark.parametrize("value, expected", [
    ("{svcname}", "web.example.com"),
    ("{short_svcname}", "web"),
    ("{nodename}", "n1.corp"),
    ("{short_nodename}", "n1"),
    ("{app}", "ERP"),                               # {key} = DEFAULT.key
    ("{nodes}", "n1 n2 n3"),
    ("{fs#1.mnt}", "/srv/ERP"),                     # {section.key}, itself expanded
    ("{fs#1.dev}", "/dev/vg/web.example.com"),
    ("{env.colour}", "blue"),                       # [env] section
    ("{#nodes}", "3"),
    ("{nodes[0]}-{nodes[2]}", "n1-n3"),
    ("{nodes[-1]}", "n3"),
    ("{nodes[{flex_min_nodes}]}", "n2"),                       # index holding a reference
    ("{nodes[$({flex_min_nodes}+1)]}", "n3"),                  # index holding an expression
    ("{nodes[$(0//(3//{#nodes}))]}", "n1"),         # the agent's own test case
    ("$(1+2*3)", "7"),
    ("$({env.port}+1)", "8001"),
    ("$(2**10)", "1024"),
    ("$(-(7 % 4))", "-3"),
    ("$(7/2)", "3.5"),
    ("$(8/2)", "4"),
    ("$(7//2)", "3"),
    ("10.0.0.$(10+{#nodes})", "10.0.0.13"),
    ("plain", "plain"),
    ("a { b", "a { b"),                             # a lone brace is text
    ("{lock_timeout}", "60"),                       # a DEFAULT keyword's default
])
def test_reference_forms(node, value, expected):
    assert ev(node, value, nodename="n1.corp" if "nodename" in value else "n1") == expected


def test_env_prefers_the_process_environment(node):
    assert ev(node, "{env.colour}", environ={"COLOUR": "red"}) == "red"
    assert ev(node, "{env.path_x}", environ={"PATH_X": "/x"}) == "/x"


def test_references_follow_the_scope_of_the_reader(node):
    extra = "\n[disk#1]\ntype = loop\nfile = /img/{nodename}.img\nfile@n2 = /img/second-{nodename}.img\n"
    assert ev(node, "{disk#1.file}", nodename="n1", extra=extra) == "/img/n1.img"
    assert ev(node, "{disk#1.file}", nodename="n2", extra=extra) == "/img/second-n2.img"
    assert ev(node, "{app}", extra="", nodename="n1") == "ERP"


@pytest.mark.parametrize("value, message", [
    ("{nosuch}", "[ip#1] ipname: {nosuch}: unresolved reference (no keyword 'nosuch' in [DEFAULT])"),
    ("{fs#9.mnt}", "[ip#1] ipname: {fs#9.mnt}: unresolved reference (no section [fs#9])"),
    ("{fs#1.nosuch}", "[ip#1] ipname: {fs#1.nosuch}: unresolved reference"),
    ("{env.nosuch}", "[ip#1] ipname: {env.nosuch}: unresolved reference"),
    ("{nodes[3]}", "[ip#1] ipname: {nodes[3]}: index 3 out of range (nodes has 3 words)"),
    ("{nodes[x]}", "[ip#1] ipname: {nodes[x]}: bad index"),
    ("$(1+)", "[ip#1] ipname: $(1+): not an arithmetic expression"),
    ("$(1/0)", "[ip#1] ipname: $(1/0): division by zero"),
    ("$(__import__('os'))", "only numbers and + - * / // % ** are allowed"),
    ("$(x)", "only numbers and + - * / // % ** are allowed"),
    ("$(9**9**9)", "too large"),
    ("$('a'*3)", "only numbers"),
])
def test_reference_errors(node, value, message):
    out = ev(node, value)
    assert isinstance(out, list) and len(out) == 1, out
    assert message in out[0]
    assert out[0].startswith("web.env:")


def test_reference_loop_names_the_chain(node):
    extra = "\n[fs#2]\ndev = {fs#3.dev}\nmnt = /b\n\n[fs#3]\ndev = {fs#2.dev}\nmnt = /c\n"
    out = ev(node, "x", extra=extra)
    assert any("reference loop: fs#2.dev -> fs#3.dev -> fs#2.dev" in p for p in out), out


def test_self_reference_is_a_loop(node):
    out = ev(node, "{ip#1.ipname}")
    assert "ipname: reference loop: ip#1.ipname -> ip#1.ipname" in out[0]


def test_loop_through_default(node):
    text = BASE.replace("app = ERP", "app = {comment}\ncomment = {app}")
    spec, problems = build(node, "web", text, "web.env", nodename="n1", environ={})
    assert any("reference loop: app -> comment -> app" in str(p) for p in problems), problems


def test_triggers_tolerate_unresolved_references(node):
    extra = "\n[app#1]\nscript = /bin/true\npre_start = awk '{print $1}' /etc/{app}\n"
    text = BASE + extra
    spec, problems = build(node, "web", text, "web.env", nodename="n1", environ={})
    assert [p for p in problems if p.fatal] == []
    assert spec.resource("app#1").triggers == {"pre_start": "awk '{print $1}' /etc/ERP"}


def test_triggers_keep_shell_command_substitutions(node):
    """$( ) that is not arithmetic stays for the shell in a trigger; arithmetic is still evaluated,
    and anywhere else a bad expression is still an error."""
    extra = ("\n[app#1]\nscript = /bin/true\npost_start = sh -c 'echo $(date +%s) $(hostname -s {app}) $(1+2)'\n"
             "start = $(date)\n")
    spec, problems = build(node, "web", BASE + extra, "web.env", nodename="n1", environ={})
    assert spec.resource("app#1").triggers == {"post_start": "sh -c 'echo $(date +%s) $(hostname -s ERP) 3'"}
    assert [str(p) for p in problems if p.fatal] == ["web.env:17: [app#1] start: $(date): only numbers and + - * / // % ** are allowed"]


def test_expand_is_pure_and_reusable():
    table = {"a": "x y z", "b": "{a}"}

    def resolve(name):
        if name not in table:
            raise refs.Unresolved(name)
        return table[name]

    assert refs.expand("{#a}:{a[1]}", resolve) == "3:y"
    assert refs.expand("{nope} {a[0]}", resolve, tolerate=True) == "{nope} x"
    with pytest.raises(refs.Unresolved):
        refs.expand("{nope}", resolve)
    assert refs.evaluate("2**3 - -1") == 9
