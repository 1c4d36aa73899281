"""A service of real resources, through the real CLI run inside a network namespace (and a private
mount namespace, `mount_ns`): an ip on a veth in the namespace, a loop device, an ext4 filesystem on
it, and 1.5 app launchers.
"""

import subprocess

import pytest

from tests.helpers.cli import journal_rows, osvc, real_service_env, transitions, write_launcher
from tests.helpers.loop import attached, mounted_in
from tests.helpers.netns import ns_ip

ADDR = "10.77.0.10"


@pytest.fixture
def real_svc(osvc_root, netns, loop_image, mount_ns):
    subprocess.run(["mkfs.ext4", "-q", "-F", str(loop_image)], check=True)
    mnt = loop_image.parent / "mnt"
    state = osvc_root / "state"
    state.mkdir()
    launchers = osvc_root / "etc" / "real.d"
    write_launcher(launchers / "S10app", f'touch "{state}/app" && test -d "{mnt}/lost+found"')
    write_launcher(launchers / "K10app", f'rm -f "{state}/app"')
    write_launcher(launchers / "C10app", f'test -e "{state}/app"')
    (osvc_root / "etc" / "real.env").write_text(real_service_env(ADDR, loop_image, mnt))
    # nsenter, not ip netns exec (which would also unshare the mount namespace); the mounts in mount_ns
    return {"ns": netns, "image": loop_image, "mnt": mnt, "state": state, "mount_ns": mount_ns,
            "wrap": ("nsenter", f"--net=/run/netns/{netns}", f"--mount={mount_ns}")}


def mounted(svc):
    return mounted_in(svc["mount_ns"], svc["mnt"])


def addresses(ns):
    return ns_ip(ns, "-o", "addr", "show", "dev", "eth0").stdout


def test_start_stop_real_resources(osvc_root, real_svc):
    ns = real_svc["ns"]
    wrap = real_svc["wrap"]
    r = osvc(osvc_root, "-s", "real", "start", wrap=wrap)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"inet {ADDR}/24" in addresses(ns)
    assert len(attached(real_svc["image"])) == 1
    assert mounted(real_svc)
    assert (real_svc["state"] / "app").exists()

    r = osvc(osvc_root, "-s", "real", "print", "status", wrap=wrap)
    lines = r.stdout.splitlines()
    assert lines[1] == "overall                   up"
    assert any(line.startswith("|  |- ip#1           .... up       10.77.0.10@eth0") for line in lines)

    expected_start = [("", "start", "idle", "starting")]
    for rid in ("ip#1", "disk#1", "fs#1", "app"):        # 1.5 order: ip -> disks -> fs -> app
        expected_start += [(rid, "start", "down", "starting"), (rid, "started", "starting", "up")]
    expected_start.append(("", "started", "starting", "started"))
    assert transitions(osvc_root, "real") == expected_start

    r = osvc(osvc_root, "-s", "real", "stop", wrap=wrap)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ADDR not in addresses(ns)
    assert not mounted(real_svc)
    assert attached(real_svc["image"]) == []
    stops = [t for t in transitions(osvc_root, "real")[len(expected_start):] if t[0]]
    assert [t[0] for t in stops[::2]] == ["app", "fs#1", "disk#1", "ip#1"]
    commands = [r["payload"]["argv"][0] for r in journal_rows(osvc_root, svc="real", kind="command")]
    assert {"ip", "losetup", "mount", "umount"} <= set(commands)


def test_failed_launcher_rolls_back_the_real_resources(osvc_root, real_svc):
    ns = real_svc["ns"]
    wrap = real_svc["wrap"]
    write_launcher(osvc_root / "etc" / "real.d" / "S20broken", "echo broken >&2; exit 3")
    r = osvc(osvc_root, "-s", "real", "start", wrap=wrap)
    assert r.returncode == 1
    # S10app ran before S20broken failed: the app changed something too, so it is rolled back
    assert "trying to rollback start on ip#1, disk#1, fs#1, app\n" in r.stdout
    # everything the action had started is undone, in stop order
    assert ADDR not in addresses(ns)
    assert not mounted(real_svc)
    assert attached(real_svc["image"]) == []
    rolled = [t for t in transitions(osvc_root, "real") if t[1] == "stop"]
    assert [t[0] for t in rolled] == ["app", "fs#1", "disk#1", "ip#1"]
    assert not (real_svc["state"] / "app").exists()
