"""Issue 17, the env-file items: what validation must refuse, each with its file:line and keyword, exit 3.

    5  a path, device, address or name that begins with '-' (a command would read it as an option)
    6  `mnt` on / or a system mount point
    7  a runaway $( ) expression or reference expansion: refused at once, never a hang or a traceback
    9  non-UTF-8 or binary files, NUL bytes, empty files, bad netmask/address, unbalanced trigger quotes,
       a reference loop in an [env] key nothing uses yet
"""

import os

import pytest

from config.build import load_service, validate
from core.errors import ConfigError
from tests.helpers.cli import osvc, run


FS = "[DEFAULT]\nnodes = node1\n\n[fs#1]\ntype = tmpfs\ndev = tmpfs\nmnt = /srv/data\n"


def install(node, text, svc="svc"):
    path = node.etc / f"{svc}.env"
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    return path


def problems(node, text, svc="svc"):
    """validate's problems as `<line>: [<section>] <keyword>: <message>` (the file name cut)."""
    path = install(node, text, svc)
    return [str(p)[len(str(path)) + 1:] for p in validate(node, svc) if p.fatal]


def refused(node, text, svc="svc"):
    """The ConfigError load_service raises: its message without the file name."""
    path = install(node, text, svc)
    with pytest.raises(ConfigError) as exc:
        load_service(node, svc)
    assert exc.value.exit_code == 3
    assert str(exc.value).startswith(f"{path}:")
    return str(exc.value)[len(str(path)) + 1:]


# ---- 5: values beginning with '-' ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, where", [
    ("[fs#1]\ntype = tmpfs\ndev = -oremount,ro\nmnt = /srv/data\n", "3: [fs#1] dev: '-oremount,ro' begins with '-'"),
    ("[fs#1]\ntype = tmpfs\ndev = --help\nmnt = /srv/data\n", "3: [fs#1] dev: '--help' begins with '-'"),
    ("[fs#1]\ntype = tmpfs\ndev = tmpfs\nmnt = --help\n", "4: [fs#1] mnt: '--help' begins with '-'"),
    ("[fs#1]\ntype = -oremount\ndev = tmpfs\nmnt = /srv/data\n", "2: [fs#1] type: '-oremount' begins with '-'"),
    ("[ip#1]\nipname = -x\nipdev = eth0\n", "2: [ip#1] ipname: '-x' begins with '-'"),
    ("[ip#1]\nipname = 10.0.0.1\nipdev = -batch\n", "3: [ip#1] ipdev: '-batch' begins with '-'"),
    ("[container#1]\ntype = kvm\nname = --help\n", "3: [container#1] name: '--help' begins with '-'"),
    ("[disk#1]\ntype = vg\nname = -an\n", "3: [disk#1] name: '-an' begins with '-'"),
    ("[disk#1]\ntype = loop\nfile = -f\n", "3: [disk#1] file: '-f' begins with '-'"),
    ("[sync#1]\nsrc = /a -e\ndst = /b\ntarget = nodes\n", "2: [sync#1] src: '-e' begins with '-'"),
    ("[DEFAULT]\nnodes = node1 -oProxyCommand=touch\n", "2: [DEFAULT] nodes: '-oProxyCommand=touch' begins with '-'"),
    ("[env]\nd = -oremount\n[fs#1]\ntype = tmpfs\ndev = {env.d}\nmnt = /srv/data\n",
     "5: [fs#1] dev: '-oremount' begins with '-'"),     # the value this node reads, references expanded
])
def test_option_like_operands_are_refused(node, text, where):
    got = problems(node, text)
    assert any(p.startswith(where) for p in got), got
    assert refused(node, text).startswith(where)


def test_option_like_dev_is_refused_by_the_command_line(capsys, node):
    install(node, "[fs#1]\ntype = tmpfs\ndev = -oremount,ro\nmnt = /srv/data\n", "s1")
    rc, out, _ = run(capsys, "-s", "s1", "validate", "config")
    assert rc == 3 and out == (f"{node.etc / 's1.env'}:3: [fs#1] dev: '-oremount,ro' begins with '-': a command "
                               f"would read this dev as an option; give a path, device, address or name\n")
    rc, _, err = run(capsys, "-s", "s1", "start")
    assert rc == 3 and "s1.env:3: [fs#1] dev: '-oremount,ro' begins with '-'" in err


def test_options_keywords_may_begin_with_a_dash(node):
    text = FS + "mnt_opt = size=1m\n\n[container#1]\ntype = docker\nrun_image = busybox\nrun_args = -v /a:/b --rm\n"
    assert problems(node, text) == []


# ---- 6: system mount points ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mnt", ["/", "/usr", "/usr/", "//var", "/var/./log/..", "/etc", "/boot", "/boot/efi",
                                 "/proc", "/proc/sys", "/sys/fs/cgroup", "/dev", "/dev/shm", "/run", "/tmp",
                                 "/lib64", "/sbin", "/var/lib", "/srv/../usr"])
def test_a_system_mount_point_is_refused(node, mnt):
    text = f"[fs#1]\ntype = ext4\ndev = /dev/vda\nmnt = {mnt}\n"
    got = refused(node, text)
    assert got.startswith("4: [fs#1] mnt: ") and "is a system mount point" in got, got


def test_a_link_to_a_system_mount_point_is_refused(node, tmp_path):
    link = tmp_path / "data"
    link.symlink_to("/usr")
    got = refused(node, f"[fs#1]\ntype = ext4\ndev = /dev/vda\nmnt = {link}\n")
    assert got.startswith(f"4: [fs#1] mnt: {link} (-> /usr) is a system mount point")


def test_the_engine_root_and_its_parents_are_refused(node):
    for mnt in (node.root, node.root.parent):
        got = refused(node, f"[fs#1]\ntype = ext4\ndev = /dev/vda\nmnt = {mnt}\n")
        assert got.startswith("4: [fs#1] mnt: ") and "holds the engine's own root" in got


def test_a_relative_mount_point_is_refused(node):
    assert refused(node, "[fs#1]\ntype = ext4\ndev = /dev/vda\nmnt = data\n") \
        .startswith("4: [fs#1] mnt: 'data' is not an absolute path")


def test_a_directory_resource_on_a_system_folder_is_refused(node):
    got = refused(node, "[fs#1]\ntype = directory\npath = /etc\nuser = nobody\n")
    assert got.startswith("3: [fs#1] path: /etc is a system mount point")


@pytest.mark.parametrize("mnt", ["/srv", "/srv/data", "/opt/app", "/tmp/x", "/var/lib/pgsql", "/home", "/mnt/x"])
def test_service_mount_points_are_accepted(node, mnt):
    assert problems(node, f"[fs#1]\ntype = ext4\ndev = /dev/vda\nmnt = {mnt}\n") == []


# ---- 7: runaway expressions ---------------------------------------------------------------------------------

BOMB = "[env]\n" + "".join(f"k{i} = {{env.k{i + 1}}}{{env.k{i + 1}}}\n" for i in range(40)) + "k40 = xx\n"


@pytest.mark.parametrize("value, message", [
    ("$(((9**1024)**1024)**1024)", "number too large"),
    ("$((9**1024)**1024)", "number too large"),
    ("$(9**9**9)", "exponent 387420489 too large"),
    ("$(" + "-" * 5000 + "1)", "expression too long"),
    ("$(" + "-" * 200 + "1)", "too complex"),
    ("$(" + "9" * 400 + "+1)", "number too large"),
])
def test_a_runaway_expression_is_refused_at_once(osvc_root, value, message):
    (osvc_root / "etc" / "ar.env").write_text(FS.replace("nodes = node1\n", f"nodes = node1\ncomment = {value}\n"))
    res = osvc(osvc_root, "-s", "ar", "validate", "config")   # was: a hang, or a traceback (exit 1)
    assert res.returncode == 3, res.stderr
    assert res.stdout.startswith(f"{osvc_root / 'etc' / 'ar.env'}:3: [DEFAULT] comment: $(") and message in res.stdout
    assert "Traceback" not in res.stderr


def test_a_reference_bomb_is_refused_at_once(osvc_root):
    (osvc_root / "etc" / "bomb.env").write_text(FS.replace("/srv/data", "/srv/{env.k0}") + BOMB)
    res = osvc(osvc_root, "-s", "bomb", "validate", "config")
    assert res.returncode == 3
    assert "bomb.env:7: [fs#1] mnt: the value expands to more than 1048576 characters" in res.stdout


def test_ordinary_expressions_still_work(node):
    spec = load_service(node, install(node, FS + "restart = $(2**3 - 5)\n") and "svc")
    assert spec.resource("fs#1").restart == 3


# ---- 9: files that are not text, empty files, values validate missed ----------------------------------------

def test_a_non_utf8_file_is_refused_with_its_line(capsys, node):
    path = install(node, b"[DEFAULT]\nnodes = node1\ncomment = caf\xe9\n[fs#1]\n")
    with pytest.raises(ConfigError) as exc:
        load_service(node, "svc")
    assert str(exc.value).startswith(f"{path}:3: not UTF-8 text (byte 0xe9 at column 14)")
    assert exc.value.exit_code == 3
    for words in (["validate", "config"], ["print", "config"], ["start"], ["print", "status"]):
        rc, _, err = run(capsys, "-s", "svc", *words)
        assert rc == 3 and f"{path}:3: not UTF-8 text" in err, (words, err)


def test_a_non_utf8_byte_after_a_bom_is_shown_where_it_is(node):
    """A leading BOM is dropped; the bad byte's line and column are counted after it, where an editor shows them."""
    path = install(node, b"\xef\xbb\xbf[DEFAULT]\nnodes = a\xff\n")
    with pytest.raises(ConfigError) as exc:
        load_service(node, "svc")
    assert str(exc.value).startswith(f"{path}:2: not UTF-8 text (byte 0xff at column 10)")


def test_a_binary_file_is_refused(capsys, node):
    install(node, bytes(range(256)) * 4)           # line 2 starts after byte 10, 0x80 is its 118th byte
    rc, _, err = run(capsys, "-s", "svc", "validate", "config")
    assert rc == 3 and err.endswith("svc.env:2: not UTF-8 text (byte 0x80 at column 118): an env file is UTF-8 "
                                    "text; is it binary, or in another encoding (iconv -t utf-8)?\n")
    install(node, bytes(range(128)) * 4)           # ASCII, so UTF-8, but binary
    rc, out, _ = run(capsys, "-s", "svc", "validate", "config")
    assert rc == 3 and out.startswith(f"{node.etc / 'svc.env'}:1: [] a NUL byte")


def test_a_nul_byte_is_refused_with_its_line(node):
    text = FS + "comment = a\0b\n"
    assert problems(node, text) == [("8: [fs#1] a NUL byte (a binary or corrupted file?) at column 12: "
                                     "an env file is text")]
    assert refused(node, text).startswith("8: [fs#1] a NUL byte")


def test_control_characters_keep_the_editor_s_line_numbers(node):
    """\\f and \\v are line breaks for str.splitlines, not for an editor: line 3 stays line 3."""
    assert problems(node, "[DEFAULT]\nnodes = node1\ncomment = a\fb\n[ip#1]\nipname = 1.2.3\nipdev = lo\n") == [
        "3: [DEFAULT] control character '\\x0c' at column 12: an env file is text",
        "5: [ip#1] ipname: '1.2.3' is not a valid IP address"]


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing\n; here\n", "[DEFAULT]\n", "[DEFAULT]\ncomment = x\n"])
def test_an_env_file_that_defines_no_service_is_refused(node, text):
    node.launchers_dir("svc").mkdir(exist_ok=True)     # launchers alone would start with no ip or fs under them
    assert refused(node, text).startswith("1: [DEFAULT] the env file defines no service")


def test_a_small_service_is_still_a_service(node):
    node.launchers_dir("svc").mkdir()
    spec = load_service(node, install(node, "[DEFAULT]\nnodes = node1\n") and "svc")
    assert [r.rid for r in spec.resources] == ["app"]
    assert load_service(node, install(node, "[app]\n") and "svc").resources


@pytest.mark.parametrize("ip, where", [
    ("ipname = 10.0.0.300\nnetmask = 24", "2: [ip#1] ipname: '10.0.0.300' is not a valid IP address"),
    ("ipname = 1.2.3", "2: [ip#1] ipname: '1.2.3' is not a valid IP address"),
    ("ipname = a;b", "2: [ip#1] ipname: 'a;b' is neither an IP address nor a host name"),
    ("ipname = 10.0.0.1\nnetmask = 24 dev lo", "3: [ip#1] netmask: '24 dev lo' is not a valid netmask"),
    ("ipname = 10.0.0.1\nnetmask = 33", "3: [ip#1] netmask: '33' is not a valid netmask for an IPv4 address"),
    ("ipname = 10.0.0.1\nnetmask = 255.0.255.0", "3: [ip#1] netmask: '255.0.255.0' is not a valid netmask"),
    ("ipname = 10.0.0.1\nnetmask = ffff:ffff::", "3: [ip#1] netmask: 'ffff:ffff::' is not a valid netmask"),
    ("ipname = 10.0.0.1\ngateway = 10.0.0", "3: [ip#1] gateway: '10.0.0' is not a valid IP address"),
])
def test_a_bad_address_or_netmask_is_refused(node, ip, where):
    text = f"[ip#1]\n{ip}\nipdev = eth0\n"
    got = problems(node, text)
    assert any(p.startswith(where) for p in got), got
    assert refused(node, text).startswith(where)


@pytest.mark.parametrize("ip", ["ipname = 10.0.0.1\nnetmask = 24", "ipname = 10.0.0.1\nnetmask = 255.255.255.0",
                                "ipname = fe80::1\nnetmask = 64", "ipname = web1.example.com\nnetmask = 24",
                                "ipname = {svcname}-vip", "ipname = 10.0.0.1\ngateway = 10.0.0.254"])
def test_good_addresses_and_netmasks_are_accepted(node, ip):
    assert problems(node, f"[ip#1]\n{ip}\nipdev = eth0\n") == []


@pytest.mark.parametrize("trigger, ok", [
    ('pre_start = echo "unbalanced', False),
    ("post_stop = logger 'a ; b", False),          # shell-run (';'), still unbalanced
    ("pre_start = sh -c 'echo a; echo b'", True),
    ("blocking_pre_start = /usr/local/bin/fence {svcname}", True),
])
def test_trigger_quotes_must_balance(node, trigger, ok):
    text = FS + trigger + "\n"
    got = problems(node, text)
    if ok:
        assert got == []
    else:
        assert got == [(f"8: [fs#1] {trigger.split(' =')[0]}: cannot split the command (no closing quotation): "
                        f"balance its quotes")]


def test_a_reference_loop_in_an_unused_env_key_is_refused(node):
    text = FS + "\n[env]\na = {env.b}\nb = x{env.a}\nfine = {nodename}\n"
    assert problems(node, text) == ["10: [env] a: reference loop: env.a -> env.b -> env.a",
                                    "11: [env] b: reference loop: env.b -> env.a -> env.b"]
    assert refused(node, text).startswith("10: [env] a: reference loop")


def test_an_unresolved_reference_in_an_unused_env_key_is_a_warning(node):
    install(node, FS + "\n[env]\nx = {nosuch}\n")
    assert [str(p).split(": ", 1)[1] for p in validate(node, "svc")] == [
        "[env] x: {nosuch}: unresolved reference (no keyword 'nosuch' in [DEFAULT]) (not used yet)"]
    assert load_service(node, "svc")


def test_the_seeds_and_the_demo_shapes_stay_clean(node):
    """What the README and the demo write passes every new check."""
    demo = (f"[DEFAULT]\nnodes = node1\n\n[ip#1]\nipname = 10.99.0.10\nipdev = veth0\nnetmask = 24\n\n"
            f"[disk#1]\ntype = loop\nfile = {node.root}/img\n\n[fs#1]\ntype = ext4\ndev = {{disk#1.file}}\n"
            f"mnt = {node.root}/mnt/data\n")
    assert problems(node, demo) == []
    assert os.path.isabs(str(node.root))
