"""Checks of evaluated keyword values that the type alone does not make (issue 17, items 5, 6 and 9).

    operand_problem(keyword, value)             a path, device, address or name that begins with '-'
    mount_point_problem(path, engine_root)      `mnt` (and fs `directory` path) on / or a system mount point
    ip_problems(conf)                           a literal ipname/gateway that is not an address, a bad netmask
    trigger_problem(command)                    a trigger command whose quotes do not balance (shlex)
    control_problem(text)                       a control character (NUL...) written in the file

Each returns the operator's message (None or [] when the value is fine); config/build.py attaches the
file:line and the keyword. Pure functions, stdlib only: the values are the ones this node reads (scoped, with
references expanded), so `{env.dev}` expanding to `-oremount,ro` is caught as well as a written one.
"""

import ipaddress
import os
import re
import shlex

from domain.mounts import SYSTEM_MOUNT_POINTS, SYSTEM_TREES, normalized  # noqa: F401  (re-exported)
from domain.mounts import system_mount_point as _system

# Keywords whose value (each word, for a list) is a path, a device, an address or a name: a driver passes it as
# a command operand (mount <dev> <mnt>, ip addr add ... dev <ipdev>, virsh start <name>, ssh <node>...). A value
# beginning with '-' would be read as an option by that command (`dev = -oremount,ro` remounted a filesystem
# read-only): refused, whatever the family. Keywords that ARE options (mnt_opt, mkfs_opt, options, run_args,
# rcmd) and commands (triggers, run_command, script arguments) are not listed.
OPERAND_KEYWORDS = frozenset({
    # fs, share, disk
    "dev", "mnt", "path", "file", "devs", "vdev", "res", "name", "uuid", "images", "keyring", "client_id",
    "volumes", "names", "disk_id", "array", "user", "group", "peer", "container_id",
    # ip
    "ipname", "ipdev", "netmask", "gateway", "network", "dns_name_suffix", "eip", "routename", "gce_zone",
    "container_rid", "zone",
    # containers
    "hostname", "guestos", "osvc_root_path", "jailroot", "ips", "ip6s", "cf", "rootfs", "template", "run_image",
    "ip", "rootpath", "virtinst", "snapof", "cloud_id", "key_name", "image_id", "subnet", "vapp",
    "container_origin",
    # sync
    "src", "dst", "dstfs",
    # app
    "script", "dir",
    # DEFAULT: node names reach ssh/rsync as host operands; the implicit container's name
    "nodes", "drpnodes", "drpnode", "encapnodes", "flex_primary", "drp_flex_primary", "autostart_node",
    "vm_name", "vm_uuid", "docker_data_dir", "docker_exe", "anti_affinity",
    # node lists of every resource
    "disable_on", "enable_on", "optional_on", "monitor_on", "always_on",
})

# The system mount points an `fs` resource must never own: domain/mounts.py (drivers/fs.py reads it at stop).

# As text: re compiles them for the first ip resource (every action imports this module).
_DIGITS_AND_DOTS = r"[0-9.]+"
_HOST_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?"

# C0 controls but tab, and DEL: never part of an env file's text (a NUL is a binary or corrupted file).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _words(value):
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [w for w in value if isinstance(w, str)]
    return []


def operand_problem(keyword: str, value) -> str | None:
    if keyword not in OPERAND_KEYWORDS:
        return None
    for word in _words(value):
        if word.strip().startswith("-"):
            return (f"{word.strip()!r} begins with '-': a command would read this {keyword} as an option; "
                    f"give a path, device, address or name")
    return None


def mount_point_problem(path: str, engine_root=None, keyword: str = "mnt") -> str | None:
    """`path`, a mount point (or a directory the engine chowns), is absolute and none of the node's own."""
    if not isinstance(path, str) or not path.strip():
        return None                      # required/empty: reported by the required check
    path = path.strip()
    if not path.startswith("/"):
        return f"{path!r} is not an absolute path: give the full path of the {keyword}"
    norm = normalized(path)
    real = normalized(os.path.realpath(norm))
    hit = _system(norm) or _system(real)
    if hit is not None:
        shown = norm if real == norm else f"{norm} (-> {real})"
        return (f"{shown} is a system mount point ({hit}): a service must never mount, unmount or "
                f"fuser -k it; use a folder of its own (e.g. /srv/<svc>)")
    if engine_root is not None:
        root = normalized(os.path.realpath(str(engine_root)))
        for candidate in {norm, real}:
            if root == candidate or root.startswith(candidate.rstrip("/") + "/"):
                return (f"{norm} holds the engine's own root {root} (env files, journal): a mount there would "
                        f"hide them; use a folder of its own")
    return None


def _looks_numeric(text: str) -> bool:
    return ":" in text or bool(re.fullmatch(_DIGITS_AND_DOTS, text))


def address_problem(keyword: str, text: str, allow_name: bool) -> tuple[str | None, int | None]:
    """-> (problem, ip version of a literal address or None)."""
    if not text:
        return None, None
    try:
        return None, ipaddress.ip_address(text).version
    except ValueError:
        pass
    if _looks_numeric(text) or not allow_name:
        return f"{text!r} is not a valid IP address", None
    labels = text.rstrip(".").split(".")
    if len(text) > 253 or not all(re.fullmatch(_HOST_LABEL, label) for label in labels):
        return (f"{text!r} is neither an IP address nor a host name (letters, digits, '-' and '_' in "
                f"dot-separated labels)"), None
    return None, None


def netmask_problem(text: str, version: int | None) -> str | None:
    """What drivers/ip.py netmask_prefix accepts: a prefix length, or a dotted (v4) / v6 mask."""
    if not text:
        return None
    most = 32 if version == 4 else 128
    if text.isdigit():
        if int(text) <= most:
            return None
    else:
        for net, v in (("0.0.0.0", 4), ("::", 6)):
            if version not in (None, v):
                continue
            try:
                ipaddress.ip_network(f"{net}/{text}")
                return None
            except ValueError:
                continue
    kind = f" for an IPv{version} address" if version else ""
    return (f"{text!r} is not a valid netmask{kind}: give a prefix length (0-{most}) or a dotted mask "
            f"(255.255.255.0)")


def ip_problems(conf: dict) -> list[tuple[str, str]]:
    """[(keyword, message)] of an ip resource's evaluated conf."""
    out = []
    ipname = str(conf.get("ipname") or "").strip()
    problem, version = address_problem("ipname", ipname, allow_name=True)
    if problem:
        out.append(("ipname", problem))
    gateway = str(conf.get("gateway") or "").strip()
    if gateway:
        problem, _ = address_problem("gateway", gateway, allow_name=False)
        if problem:
            out.append(("gateway", problem))
    netmask = str(conf.get("netmask") or "").strip()
    problem = netmask_problem(netmask, version)
    if problem:
        out.append(("netmask", problem))
    return out


def trigger_problem(command) -> str | None:
    """A command that engine/triggers.py could not split: an unbalanced quote or a trailing backslash."""
    if not isinstance(command, str) or not command.strip():
        return None
    try:
        shlex.split(command)
    except ValueError as exc:
        return f"cannot split the command ({str(exc).lower()}): balance its quotes"
    return None


def control_problem(text: str) -> str | None:
    m = _CONTROL.search(text)
    if m is None:
        return None
    char = m.group()
    what = "a NUL byte (a binary or corrupted file?)" if char == "\0" else f"control character {char!r}"
    return f"{what} at column {m.start() + 1}: an env file is text"
