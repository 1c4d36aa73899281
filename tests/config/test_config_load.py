"""Loading env files into ServiceSpec: both seed generations, implicit resources, DEFAULT inheritance, flags."""


import pytest

from config.build import build, load_service
from core.errors import ConfigError, NotFound
from tests.helpers.paths import DATA

SEEDS = DATA / "seeds"


def install(node, svc, text):
    (node.etc / f"{svc}.env").write_text(text)


def spec_of(node, text, nodename="node1", svc="svc"):
    spec, problems = build(node, svc, text, f"{svc}.env", nodename=nodename, environ={})
    fatal = [str(p) for p in problems if p.fatal]
    assert fatal == []
    return spec


def shape(spec):
    return [(r.rid, r.family, r.type) for r in spec.resources]


# ---- the seeds ----------------------------------------------------------------------------------------------

def test_vm_cookbook_seed(node):
    install(node, "vm188", (SEEDS / "vm188.env").read_text())
    spec = load_service(node, "vm188", nodename="node109")
    assert shape(spec) == [("container#1", "container", "hpvm"), ("ip#1", "ip", ""), ("vmdg", "disk", "vmdg"),
                           ("sync#i0", "sync", "rsync")]
    d = spec.default
    assert d["nodes"] == ["node109", "node110", "node111", "node112"]
    assert d["drpnodes"] == ["node120"]           # drpnode merged in
    assert d["env"] == d["service_type"] == "DEV"
    assert d["autostart_node"] == ["node109"]
    assert d["app"] == "ERP" and d["comment"] == "recette gen db #2"
    assert d["mode"] == "hosted" and d["lock_timeout"] == 60 and d["rollback"] is True
    assert d["flex_primary"] == "node109" and d["drp_flex_primary"] == "node120"
    vm = spec.resource("container#1")
    assert (vm.conf["name"], vm.conf["hostname"], vm.conf["start_timeout"], vm.conf["stop_timeout"]) == \
        ("vm188", "vm188", 600, 60)
    ip = spec.resource("ip#1")
    assert (ip.conf["ipname"], ip.conf["ipdev"], ip.line) == ("vm188", "lan0", 14)
    assert spec.resource("vmdg").conf["scsireserv"] is False
    sync = spec.resource("sync#i0")
    assert sync.conf["internal"] is True and sync.conf["target"] == ["drpnodes", "nodes"]
    assert sync.conf["src"] == [str(node.etc / "vm188.env"), str(node.etc / "vm188.d")]
    assert spec.nodename == "node109" and spec.text == (SEEDS / "vm188.env").read_text()
    assert len(spec.digest) == 64
    assert not any(r.disabled or r.optional or r.monitor or r.encap or r.standby for r in spec.resources)


def test_ovm_page_seed(node):
    install(node, "ovmguest1", (SEEDS / "ovmguest1.env").read_text())
    spec = load_service(node, "ovmguest1", nodename="ovmnode1")
    assert shape(spec) == [("ovm", "container", "ovm"), ("hb#1", "hb", "ovm"), ("sync#i0", "sync", "rsync")]
    ovm = spec.resource("ovm")
    assert ovm.conf["name"] == "ovmguest1"
    assert ovm.conf["uuid"] == "0004fb0000060000a3e6b1d4c5f7a901"
    assert (ovm.conf["start_timeout"], ovm.conf["stop_timeout"]) == (180, 120)
    assert ovm.line == 4                          # the mode line
    assert spec.default["env"] == "PRD" and spec.default["mode"] == "ovm"
    assert spec.has_hb


@pytest.mark.parametrize("extra, name, uuid", [
    ("", "svc", "svc"),
    ("vm_name = guest7\n", "guest7", "guest7"),
    ("vm_name = guest7\nvm_uuid = 1234\n", "guest7", "1234"),
    ("vmname = old15\n", "old15", "old15"),       # 1.5 spelling
])
def test_mode_ovm_names(node, extra, name, uuid):
    spec = spec_of(node, f"[DEFAULT]\nmode = ovm\n{extra}")
    ovm = spec.resource("ovm")
    assert (ovm.conf["name"], ovm.conf["uuid"]) == (name, uuid)


@pytest.mark.parametrize("mode", ["kvm", "xen", "hpvm", "lxc", "zone", "ldom", "esx"])
def test_mode_virt_makes_an_implicit_container(node, mode):
    spec = spec_of(node, f"[DEFAULT]\nmode = {mode}\n")
    assert shape(spec) == [(mode, "container", mode)]


def test_mode_hosted_is_the_default_and_single_node_has_no_internal_sync(node):
    spec = spec_of(node, "[DEFAULT]\nmode = hosted\n")
    assert spec.resources == [] and spec.default["nodes"] == ["node1"]
    assert spec_of(node, "").default["mode"] == "hosted"


def test_orchestrate_and_service_type_accepted(node):
    spec = spec_of(node, "[DEFAULT]\norchestrate = ha\nservice_type = PRD\n")
    assert spec.default["env"] == "PRD" and spec.default["orchestrate"] == "ha"
    assert spec_of(node, "[DEFAULT]\nenv = uat\n").default["env"] == "UAT"


# ---- parser semantics ---------------------------------------------------------------------------------------

def test_configparser_semantics(node):
    text = """\
; a semicolon comment
[DEFAULT]
NODES = node1 node2
# a hash comment

[IP#1]
IPName = 10.0.0.1
ipdev = eth0
[container#1]
type = docker
run_image = busybox
run_args = -v /a:/a
	-v /b:/b
    # comment inside a value is dropped
	--net=none
"""
    spec = spec_of(node, text)
    assert spec.default["nodes"] == ["node1", "node2"]
    assert spec.resource("IP#1").family == "ip" and spec.resource("IP#1").conf["ipname"] == "10.0.0.1"
    assert spec.resource("container#1").conf["run_args"] == "-v /a:/a\n-v /b:/b\n--net=none"
    assert spec.resource("container#1").conf["start_timeout"] == 30


def test_default_inheritance_applies_resource_keywords_to_every_section(node):
    text = """\
[DEFAULT]
nodes = node1
optional = true
tags = t1 t2
monitor@node1 = true
restart = 2

[ip#1]
ipname = 1.2.3.4
ipdev = eth0

[fs#1]
dev = /dev/sdb
mnt = /srv
optional = false
"""
    spec = spec_of(node, text)
    ip, fs = spec.resource("ip#1"), spec.resource("fs#1")
    assert ip.optional is True and fs.optional is False
    assert ip.tags == fs.tags == frozenset({"t1", "t2"})
    assert ip.monitor and fs.monitor and ip.restart == fs.restart == 2
    # DEFAULT's nodes/mode/app are not resource keywords: no problem, not in conf
    assert "nodes" not in ip.conf


def test_deprecated_families_fold_into_disk(node):
    text = "[vg#1]\nname = datavg\n\n[loop#1]\nfile = /img\n\n[vmdg#2]\n\n[disk#3]\nname = vg3\n"
    spec = spec_of(node, text)
    assert shape(spec) == [("vg#1", "disk", "vg"), ("loop#1", "disk", "loop"), ("vmdg#2", "disk", "vmdg"),
                           ("disk#3", "disk", "vg")]
    assert spec.resource("loop#1").conf["file"] == "/img"


def test_vgname_is_read_as_name(node):
    assert spec_of(node, "[vg#1]\nvgname = old\n").resource("vg#1").conf["name"] == "old"


# ---- implicit resources -------------------------------------------------------------------------------------

def test_app_from_launcher_folder(node):
    node.launchers_dir("svc").mkdir()
    spec = spec_of(node, "[DEFAULT]\n")
    app = spec.resource("app")
    assert (app.family, app.type, app.conf["dir"]) == ("app", "", str(node.launchers_dir("svc")))


def test_bare_app_section_configures_the_implicit_app(node):
    spec = spec_of(node, "[app]\noptional = true\npre_start = /bin/echo hi\n")
    app = spec.resource("app")
    assert app.optional and app.triggers == {"pre_start": "/bin/echo hi"} and app.line == 1


def test_app_sections_18(node):
    node.launchers_dir("svc").mkdir()
    spec = spec_of(node, "[app#1]\nscript = db\nstart = 10\ncheck = 10\ntimeout = 1m\n")
    assert [r.rid for r in spec.resources] == ["app#1"]
    app = spec.resource("app#1")
    assert (app.conf["script"], app.conf["start"], app.conf["stop"], app.conf["timeout"]) == ("db", 10, None, 60)


def test_internal_sync_only_with_peers(node):
    assert [r.rid for r in spec_of(node, "[DEFAULT]\nnodes = node1\n").resources] == []
    assert [r.rid for r in spec_of(node, "[DEFAULT]\nnodes = node1\ndrpnodes = d1\n").resources] == ["sync#i0"]


def test_scsireserv_companion(node):
    text = """\
[DEFAULT]
nodes = node1

[container#1]
type = kvm
name = vm1
scsireserv = true
tags = vmtag
pre_start = /bin/true

[vmdg]
scsireserv = true
optional = true

[vmdgpr]
optional = false
monitor = true
prkey = 0x1234
"""
    spec = spec_of(node, text)
    assert shape(spec) == [("container#1", "container", "kvm"), ("container#1pr", "disk", "scsireserv"),
                           ("vmdg", "disk", "vmdg"), ("vmdgpr", "disk", "scsireserv")]
    cpr, vpr = spec.resource("container#1pr"), spec.resource("vmdgpr")
    assert cpr.conf["peer"] == "container#1" and cpr.tags == {"vmtag"} and cpr.triggers == {"pre_start": "/bin/true"}
    assert vpr.optional is False and vpr.monitor is True and vpr.conf["prkey"] == "0x1234"
    assert spec.resource("vmdg").optional is True


def test_default_scsireserv_applies_to_disks(node):
    spec = spec_of(node, "[DEFAULT]\nscsireserv = true\n\n[vg#1]\nname = v\n\n[ip#1]\nipname = a\nipdev = b\n")
    assert [r.rid for r in spec.resources] == ["ip#1", "vg#1", "vg#1pr"]


# ---- flags --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("default, section, disabled", [
    ("", "", False),
    ("disable = true", "", True),                                   # service disable
    ("disable = true", "enable_on = node1", True),                  # service disable beats enable_on
    ("", "enable_on = node1\ndisable = true", False),               # enable_on beats disable
    ("", "enable_on = nodes\ndisable = true", False),               # nodes expands
    ("", "enable_on = node2\ndisable = true", True),
    ("", "disable@node1 = true", True),                             # scoped disable
    ("", "disable@node2 = true", False),
    ("", "disable = false\ndisable_on = node1", True),              # disable_on
    ("", "disable_on = drpnodes", False),
    ("drpnodes = node1", "disable_on = drpnodes", True),
    ("", "enable_on = node1\ndisable_on = node1", False),           # enable_on beats disable_on
    ("", "disable = sometimes", True),                              # unparsable = disabled
])
def test_disable_precedence(node, default, section, disabled):
    text = f"[DEFAULT]\nnodes = node1 node2\n{default}\n\n[ip#1]\nipname = a\nipdev = b\n{section}\n"
    spec, problems = build(node, "svc", text, "svc.env", nodename="node1", environ={})
    assert not [p for p in problems if p.fatal]
    assert spec.resource("ip#1").disabled is disabled


def test_standby_encap_subset_optional_on_monitor_on(node):
    text = """\
[DEFAULT]
nodes = node1 node2
drpnodes = node3

[sync#1]
src = /data
dst = /data
target = drpnodes
always_on = drpnodes

[ip#1]
ipname = a
ipdev = b
tags = encap x
subset = web
optional_on = nodes
monitor_on = node2

[subset#ip:web]
parallel = true
"""
    on1 = spec_of(node, text, nodename="node1")
    on3 = spec_of(node, text, nodename="node3")
    assert on1.resource("sync#1").standby is False and on3.resource("sync#1").standby is True
    ip = on1.resource("ip#1")
    assert ip.encap and ip.subset == "web" and ip.optional and not ip.monitor
    assert on3.resource("ip#1").optional is False
    assert spec_of(node, text, nodename="node2").resource("ip#1").monitor is True
    assert on1.default["subsets"] == {"ip:web": {"parallel": True}}


def test_each_level_builds_its_own_view_of_one_config(node):
    """docs/encapsulation-and-cluster.md §1.1: the guest builds only the encap sections (never its own
    container), as its own resources; the host builds every section, the encap ones in_guest."""
    text = "[DEFAULT]\nnodes = h1\nencapnodes = g1\nnodes@g1 = g1\n\n[container#1]\ntype = kvm\nname = g1\n\n" \
           "[app#1]\nscript = /bin/true\ntags = encap\n"
    guest = spec_of(node, text, nodename="g1")
    assert guest.default["encap"] is True and guest.guest
    assert [(r.rid, r.encap, r.in_guest) for r in guest.resources] == [("app#1", True, False)]
    host = spec_of(node, text, nodename="h1")
    assert not host.guest
    assert [(r.rid, r.encap, r.in_guest) for r in host.resources] == \
        [("container#1", False, False), ("app#1", True, True)]
    assert [r.rid for r in host.guest_resources("container#1")] == ["app#1"]


def test_requires_and_triggers(node):
    text = """\
[ip#1]
ipname = a
ipdev = b

[fs#1]
dev = /dev/sdb
mnt = /srv
start_requires = ip#1 fs#2(up,stdby up) ip#1(down)
stop_requires = impossible
blocking_pre_start = /bin/check {svcname}
post_syncnodes = /bin/after

[fs#2]
dev = /dev/sdc
mnt = /srv2
"""
    fs = spec_of(node, text).resource("fs#1")
    assert fs.requires == {"start": [("ip#1", ("up", "stdby up")), ("fs#2", ("up", "stdby up")),
                                     ("ip#1", ("down",))],
                           "stop": [("impossible", ())]}
    assert fs.triggers == {"blocking_pre_start": "/bin/check svc", "post_sync_nodes": "/bin/after"}


def test_zone_adds_tags(node):
    ip = spec_of(node, "[ip#1]\nipname = a\nipdev = b\nzone = z1\n").resource("ip#1")
    assert ip.tags == {"zone", "z1"}


def test_hb_not_instantiated_on_drp_nodes(node):
    text = "[DEFAULT]\nnodes = n1\ndrpnodes = d1\n\n[hb#1]\ntype = openha\n"
    assert [r.rid for r in spec_of(node, text, nodename="n1").resources] == ["hb#1", "sync#i0"]
    assert [r.rid for r in spec_of(node, text, nodename="d1").resources] == ["sync#i0"]


# ---- errors -------------------------------------------------------------------------------------------------

def test_load_service_raises_the_first_problem_with_its_location(node):
    install(node, "bad", "[DEFAULT]\nnodes = node1\n\n[ip#1]\nipname = a\nipdev = b\nrestart = x\n\n[foo#1]\n")
    with pytest.raises(ConfigError) as exc:
        load_service(node, "bad")
    path = node.etc / "bad.env"
    assert str(exc.value) == f"{path}:7: [ip#1] restart: 'x' is not an integer (and 1 more: run validate config)"


def test_unknown_service_lists_what_exists(node):
    install(node, "web", "")
    with pytest.raises(NotFound) as exc:
        load_service(node, "nosuch")
    assert "services here: web" in str(exc.value)


def test_conf_file_suffix(node):
    (node.etc / "old.conf").write_text("[ip#1]\nipname = a\nipdev = b\n")
    assert load_service(node, "old").path == node.etc / "old.conf"
