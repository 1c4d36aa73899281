"""The instance gate of the status (docs/agent-reference.md §6.4): app checks run only where the ip/disk/fs/
container resources are up; sync learns whether this node is the active one."""

import json

from tests.helpers.cli import osvc, write_launcher


def test_app_not_checked_while_the_instance_is_down(osvc_root, tmp_path):
    flag = tmp_path / "checked"
    write_launcher(osvc_root / "etc" / "web.d" / "a", f'[ "$1" = status ] && touch {flag}; exit 0')
    image = tmp_path / "disk.img"
    image.write_bytes(b"\0" * 4096)
    (osvc_root / "etc" / "web.env").write_text(
        f"[DEFAULT]\nnodes = node1\n\n[disk#1]\ntype = loop\nfile = {image}\n\n"
        "[app#1]\nscript = a\nstart = 10\ncheck = 10\n")
    doc = json.loads(osvc(osvc_root, "-s", "web", "print", "status", "--refresh", "--format", "json").stdout)
    assert doc["resources"]["disk#1"]["status"] == "down"
    assert (doc["resources"]["app#1"]["status"], doc["resources"]["app#1"]["log"]) == \
        ("n/a", ["not evaluated (instance not up)"])
    assert not flag.exists()


def test_app_checked_when_the_service_has_no_instance_resources(osvc_root, tmp_path):
    write_launcher(osvc_root / "etc" / "web.d" / "a", "exit 0")
    (osvc_root / "etc" / "web.env").write_text("[DEFAULT]\nnodes = node1\n\n[app#1]\nscript = a\ncheck = 10\n")
    doc = json.loads(osvc(osvc_root, "-s", "web", "print", "status", "--refresh", "--format", "json").stdout)
    assert doc["resources"]["app#1"]["status"] == "up"
