"""`openstack`: python-openstackclient's server and image commands against one simulated cloud.

The cloud is shared by every node (unlike a hypervisor): all nodes see the same servers. Servers
are simulators.core records of tech `openstack` (id = the server uuid, name = the server name; a
name may be shared by several servers, as in Nova); images live in `<state>/openstack/images/`.

    openstack [--os-cloud C] server show NAME [-f table|value|json] [-c COLUMN]...
    openstack server start|stop NAME
    openstack server reboot [--hard|--soft] NAME
    openstack server create --image I --flavor F [--key-name K] [--network N] [--wait] NAME
    openstack server delete [--wait] NAME...
    openstack server image create [--name N] SERVER      (a snapshot: queued/saving, then active)
    openstack image list|show|delete|create ...

Server status: SHUTOFF (off), BUILD / HARD_REBOOT / REBOOT / SHUTOFF (booting after create, reboot,
start: the status a real Nova shows while the task runs), ACTIVE (running, and while the guest shuts
down). A guest shutdown (`ssh <addr> shutdown -h now`, simulators.guest) ends in SHUTOFF, as
Nova's power state sync does. Credentials: `--os-cloud`, OS_CLOUD or OS_AUTH_URL, else the
client's `Missing value auth-url required for auth plugin password`. Knobs (vmsim fail): start/stop
as in core (start covers start and reboot), `save=fail` (the snapshot ends `killed`), `save=hang`
(it stays `saving`).
"""

import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone

from simulators import core

TECH = "openstack"
FLAVORS = {"m1.tiny": ("1", 1, 512, 1), "m1.small": ("2", 1, 2048, 20), "m1.medium": ("3", 2, 4096, 40),
           "m1.large": ("4", 4, 8192, 80), "m1.xlarge": ("5", 8, 16384, 160)}
BOOT_TASK = {"BUILD": "spawning", "HARD_REBOOT": "rebooting_hard", "REBOOT": "rebooting", "SHUTOFF": "powering-on"}
VM_STATE = {"ACTIVE": "active", "SHUTOFF": "stopped", "BUILD": "building", "HARD_REBOOT": "active",
            "REBOOT": "active"}
NETWORK = "private"


class OsError(core.SimError):
    pass


def iso(ts) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_id() -> str:
    return f"req-{uuid.uuid4()}"


# --- output (cliff formatters) ---------------------------------------------------------------------
def flat(value) -> str:
    """A value as the table and value formatters print it."""
    if isinstance(value, dict):
        return "; ".join(f"{k}={', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(flat(v) if isinstance(v, dict) else str(v) for v in value)
    return "None" if value is None else str(value)


def prettytable(headers, rows) -> str:
    widths = [max(len(h), *(len(flat(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    def line(cells):
        return "| " + " | ".join(flat(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([rule, line(headers), rule, *(line(r) for r in rows), rule])


def output_opts(args):
    """(format, columns, remaining args) of the cliff output options."""
    fmt, columns, rest, i = "table", [], [], 0
    while i < len(args):
        word = args[i]
        if word in ("-f", "--format"):
            fmt = args[i + 1]
            i += 2
        elif word in ("-c", "--column"):
            columns.append(args[i + 1])
            i += 2
        elif word.startswith(("--format=", "--column=")):
            key, value = word.split("=", 1)
            fmt, columns = (value, columns) if key == "--format" else (fmt, columns + [value])
            i += 1
        else:
            rest.append(word)
            i += 1
    return fmt, columns, rest


def emit_one(fields: dict, fmt, columns):
    if columns:
        unknown = [c for c in columns if c not in fields]
        if unknown:
            raise OsError(f"No recognized column names in {unknown}. Recognized columns are {tuple(fields)}.", 2)
        fields = {c: fields[c] for c in columns}
    if fmt == "json":
        print(json.dumps(fields, indent=2))
    elif fmt == "value":
        for value in fields.values():
            print(flat(value))
    else:
        print(prettytable(["Field", "Value"], [[k, v] for k, v in fields.items()]))


def emit_list(headers, rows, fmt, columns):
    if columns:
        idx = [headers.index(c) for c in columns if c in headers]
        headers, rows = [headers[i] for i in idx], [[r[i] for i in idx] for r in rows]
    if fmt == "json":
        print(json.dumps([dict(zip(headers, r)) for r in rows], indent=2))
    elif fmt == "value":
        for row in rows:
            print(" ".join(flat(c) for c in row))
    else:
        print(prettytable(headers, rows))


# --- servers ---------------------------------------------------------------------------------------
def status_of(vm) -> str:
    if vm["state"] == "off":
        return "SHUTOFF"
    if vm["state"] == "booting":
        return vm["extra"].get("boot_status", "BUILD")
    return "ACTIVE"


def find_one(items, key, many, none):
    """The item whose id is `key`, else the only one named `key` (the openstack client's lookup)."""
    for item in items:
        if item["id"] == key:
            return item
    named = [item for item in items if item["name"] == key]
    if len(named) != 1:
        raise OsError(many if named else none)
    return named[0]


def find_server(key):
    return find_one(core.all_vms(TECH), key, f"More than one server exists with the name '{key}'.",
                    f"No server with a name or ID of '{key}' exists.")


def server_fields(vm) -> dict:
    status, extra = status_of(vm), vm["extra"]
    addr = core.vm_address(vm)
    flavor = extra.get("flavor", "m1.small")
    task = BOOT_TASK.get(status) if vm["state"] == "booting" else (
        "powering-off" if vm["state"] == "stopping" and extra.get("stop_task") else None)
    power = {"running": "Running", "stopping": "Running"}.get(vm["state"], "Shutdown")
    return {
        "OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone": "nova",
        "OS-EXT-STS:power_state": power, "OS-EXT-STS:task_state": task,
        "OS-EXT-STS:vm_state": VM_STATE.get(status, "active"),
        "accessIPv4": "", "accessIPv6": "",
        "addresses": {NETWORK: [addr]} if addr else {},
        "created": iso(extra.get("created", vm["since"])),
        "flavor": f"{flavor} ({FLAVORS.get(flavor, ('?',))[0]})",
        "id": vm["id"], "image": f"{extra.get('image', 'cirros')} ({extra.get('image_id', '')})",
        "key_name": extra.get("key_name"), "name": vm["name"], "progress": 0,
        "security_groups": [{"name": "default"}], "status": status,
        "updated": iso(vm["since"]), "volumes_attached": [],
    }


def conflict(vm, action):
    return OsError(f"Cannot '{action}' instance {vm['id']} while it is in vm_state "
                   f"{VM_STATE.get(status_of(vm), 'active')} (HTTP 409) (Request-ID: {request_id()})")


def api_failure():
    return OsError("Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the "
                   f"Nova API log if possible.\n<class 'nova.exception.NovaException'> (HTTP 500) "
                   f"(Request-ID: {request_id()})")


def boot(vm, boot_status):
    vm["extra"]["boot_status"] = boot_status
    vm["extra"].pop("stop_task", None)
    core.set_state(vm, "booting")


def server_show(args):
    fmt, columns, rest = output_opts(args)
    emit_one(server_fields(find_server(rest[-1])), fmt, columns)


def server_start(args):
    for key in args:
        vm = find_server(key)
        core.stuck_if(vm, "start")
        if status_of(vm) != "SHUTOFF":
            raise conflict(vm, "start")
        if core.failing(vm, "start"):
            raise api_failure()
        boot(vm, "SHUTOFF")


def server_stop(args):
    for key in args:
        vm = find_server(key)
        core.stuck_if(vm, "stop")
        if status_of(vm) != "ACTIVE":
            raise conflict(vm, "stop")
        if core.failing(vm, "stop"):
            raise api_failure()
        vm["extra"]["stop_task"] = True
        core.set_state(vm, "stopping")


def server_reboot(args):
    hard = "--hard" in args
    for key in [a for a in args if not a.startswith("-")]:
        vm = find_server(key)
        core.stuck_if(vm, "start")
        status = status_of(vm)
        if status not in (("ACTIVE", "SHUTOFF") if hard else ("ACTIVE",)) or vm["state"] == "stopping":
            raise conflict(vm, "reboot")
        if core.failing(vm, "start"):
            raise api_failure()
        boot(vm, "HARD_REBOOT" if hard else "REBOOT")


def server_create(args):
    fmt, columns, rest = output_opts(args)
    opts, names, i = {}, [], 0
    while i < len(rest):
        word = rest[i]
        if word in ("--image", "--flavor", "--key-name", "--network", "--nic", "--property", "--security-group"):
            opts[word] = rest[i + 1]
            i += 2
            continue
        if word.startswith("--"):
            opts[word] = True
        else:
            names.append(word)
        i += 1
    if not names or "--image" not in opts or "--flavor" not in opts:
        raise OsError("usage: openstack server create [-h] (--image <image> | --volume <volume>) --flavor <flavor> "
                      "... <server-name>\nopenstack server create: error: the following arguments are required: "
                      "<server-name>, --flavor", 2)
    image = find_image(opts["--image"])
    if opts["--flavor"] not in FLAVORS:
        raise OsError(f"No Flavor found for {opts['--flavor']}")
    vm = core.new_vm(TECH, str(uuid.uuid4()), names[0], extra={
        "image": image["name"], "image_id": image["id"], "flavor": opts["--flavor"],
        "key_name": opts.get("--key-name"), "created": time.time()})
    boot(vm, "BUILD")
    if "--wait" in opts:
        def finish():
            emit_one(server_fields(core.load(TECH, vm["id"])), fmt, columns)
            return 0
        raise core.After(vm["boot"], finish)
    emit_one(server_fields(vm), fmt, columns)


def server_delete(args):
    for key in [a for a in args if not a.startswith("-")]:
        vm = find_server(key)
        core.plumb(vm, False)
        core.vm_path(TECH, vm["id"]).unlink()


def server_image_create(args):
    fmt, columns, rest = output_opts(args)
    name = None
    if "--name" in rest:
        at = rest.index("--name")
        name = rest[at + 1]
        del rest[at:at + 2]
    servers = [a for a in rest if not a.startswith("-")]
    vm = find_server(servers[-1])
    now = time.time()
    image = {"id": str(uuid.uuid4()), "name": name or vm["name"], "created": now,
             "ready": now + vm["boot"], "server": vm["id"], "fail": vm["fail"].get("save")}
    save_image(image)
    emit_one(image_fields(image), fmt, columns)


# --- images ----------------------------------------------------------------------------------------
def images_dir():
    path = core.state_dir() / TECH / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_image(image):
    (images_dir() / f"{image['id']}.json").write_text(json.dumps(image, sort_keys=True))


def all_images():
    return sorted((json.loads(p.read_text()) for p in images_dir().glob("*.json")), key=lambda i: i["name"])


def image_status(image, now=None) -> str:
    now = time.time() if now is None else now
    if now < image.get("ready", 0) or image.get("fail") == "hang":
        return "saving"
    return "killed" if image.get("fail") == "fail" else "active"


def find_image(key):
    return find_one(all_images(), key, f"More than one Image exists with the name '{key}'.",
                    f"No Image found for {key}")


def image_fields(image) -> dict:
    return {"container_format": "bare", "created_at": iso(image["created"]), "disk_format": "qcow2",
            "file": f"/v2/images/{image['id']}/file", "id": image["id"], "min_disk": 0, "min_ram": 0,
            "name": image["name"], "owner": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "properties": {},
            "protected": False, "size": None if image_status(image) != "active" else 1073741824,
            "status": image_status(image), "tags": [], "updated_at": iso(image["created"]),
            "visibility": "private"}


def image_list(args):
    fmt, columns, _ = output_opts(args)
    rows = [[i["id"], i["name"], image_status(i)] for i in all_images()]
    emit_list(["ID", "Name", "Status"], rows, fmt, columns)


def image_show(args):
    fmt, columns, rest = output_opts(args)
    emit_one(image_fields(find_image(rest[-1])), fmt, columns)


def image_delete(args):
    names = [a for a in args if not a.startswith("-")]
    failed = 0
    for key in names:
        try:
            image = find_image(key)
        except OsError as exc:
            print(f"Failed to delete image with name or ID '{key}': {exc}", file=sys.stderr)
            failed += 1
            continue
        (images_dir() / f"{image['id']}.json").unlink()
    if failed:
        raise OsError(f"Failed to delete {failed} of {len(names)} images.")


def image_create(args):
    fmt, columns, rest = output_opts(args)
    skip = {"--file", "--disk-format", "--container-format", "--property", "--min-disk", "--min-ram"}
    names, i = [], 0
    while i < len(rest):
        if rest[i] in skip:
            i += 2
            continue
        if not rest[i].startswith("-"):
            names.append(rest[i])
        i += 1
    now = time.time()
    image = {"id": str(uuid.uuid4()), "name": names[-1], "created": now, "ready": now, "server": None,
             "fail": None}
    save_image(image)
    emit_one(image_fields(image), fmt, columns)


COMMANDS = {
    ("server", "show"): server_show, ("server", "start"): server_start, ("server", "stop"): server_stop,
    ("server", "reboot"): server_reboot, ("server", "create"): server_create,
    ("server", "delete"): server_delete, ("server", "image", "create"): server_image_create,
    ("image", "list"): image_list, ("image", "show"): image_show, ("image", "delete"): image_delete,
    ("image", "create"): image_create,
}


def main(argv):
    cloud, i = os.environ.get("OS_CLOUD"), 0
    while i < len(argv) and argv[i].startswith("--os-"):
        key, eq, value = argv[i].partition("=")
        if not eq:
            value = argv[i + 1] if i + 1 < len(argv) else ""
        if key == "--os-cloud":
            cloud = value
        i += 1 if eq else 2
    words = argv[i:]
    for size in (3, 2):
        handler = COMMANDS.get(tuple(words[:size]))
        if handler is not None:
            break
    else:
        raise OsError(f"openstack: '{' '.join(words[:2])}' is not an openstack command. See 'openstack --help'.", 2)
    if not cloud and not os.environ.get("OS_AUTH_URL"):
        raise OsError("Missing value auth-url required for auth plugin password")
    return handler(words[size:]) or 0
