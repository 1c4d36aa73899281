"""`docker`: the Docker client and engine of one node (docker 28 shapes: `docker ps` columns, 64-hex ids).

Each node has its own daemon: a container belongs to the node whose daemon created it (the VM
record's `node`), and `docker ps` on another node does not list it. State: simulators.core, tech
`docker`, one record per container (id = the 64-hex container id, name = the container name,
extra: image, cmd, exit code, started/finished times).

    docker [-H|--host SOCK] run [-d] [--name=N] [options] IMAGE [COMMAND...]   prints the id
    docker start|stop|kill [-t N] CONTAINER...      prints each argument as given
    docker ps [-a] [-q] [--no-trunc] [-f|--filter name=RE|id=PFX|status=S]...
    docker inspect [--type container] [-f|--format '{{.Path}}'] NAME...
    docker exec [-i] [-t] CONTAINER CMD...          the guest's commands (simulators.guest)
    docker rm [-f] CONTAINER...
    docker info

A container is `Created` while booting (the start=hang knob keeps it there), `Up` while running,
`Exited (N)` once off. `docker stop` waits for the container to go down like the real one (up to
`-t`, 10 s, then it kills it), out of the simulator lock. The daemon of node N is stopped while the
file `daemon_flag(N)` exists (`docker info` and every command then fail as with no daemon).
Images: the public registry knows REGISTRY; the first run of an image on a node pulls it.
"""

import hashlib
import json
import re
import secrets
import sys
import time
from datetime import datetime, timezone

from simulators import core

TECH = "docker"
VERSION = "28.2.2"
STOP_TIMEOUT = 10
REGISTRY = {"busybox", "alpine", "debian", "ubuntu", "centos", "nginx", "redis", "postgres", "httpd"}
# `docker run` options that take a value (the rest are flags): enough to find IMAGE in the argv
RUN_VALUE_OPTS = {
    "-a", "--attach", "--add-host", "--cap-add", "--cap-drop", "--cgroup-parent", "--cidfile", "--cpus",
    "--cpu-shares", "-c", "--cpuset-cpus", "--device", "--dns", "-e", "--env", "--env-file", "--entrypoint",
    "--expose", "-h", "--hostname", "--ip", "--ip6", "--ipc", "-l", "--label", "--link", "--log-driver",
    "--log-opt", "-m", "--memory", "--mount", "--name", "--net", "--network", "--pid", "--platform", "-p",
    "--publish", "--pull", "--restart", "--security-opt", "--shm-size", "--stop-signal", "--stop-timeout",
    "--tmpfs", "-u", "--user", "--ulimit", "--userns", "--uts", "-v", "--volume", "--volumes-from", "-w",
    "--workdir", "--health-cmd",
}


class DockerError(core.SimError):
    pass


def daemon_flag(node):
    """The file whose presence means node's docker daemon is stopped."""
    return core.state_dir() / TECH / f"daemon-{node}.stopped"


def _no_daemon(host):
    return f"Cannot connect to the Docker daemon at {host}. Is the docker daemon running?"


# --- time and table formatting (go-units HumanDuration, the CLI's tabwriter) -----------------------
def human_duration(seconds: float) -> str:
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    return f"{hours // 24} days"


def iso(ts) -> str:
    if not ts:
        return "0001-01-01T00:00:00Z"
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def table(headers, rows) -> str:
    """The client's tabwriter: cells padded by 3 spaces to at least 10 columns."""
    widths = [max(10, max(len(str(x)) for x in col) + 3) for col in zip(headers, *rows)]
    lines = []
    for row in [headers, *rows]:
        lines.append("".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


# --- containers ------------------------------------------------------------------------------------
def cid(vm) -> str:
    """The container id: the record's id when it is one (64 hex), else a stable one derived from it
    (`vmsim define docker web` without --id still gets a real-looking id)."""
    if re.fullmatch(r"[0-9a-f]{64}", vm["id"]):
        return vm["id"]
    return hashlib.sha256(vm["id"].encode()).hexdigest()


def containers():
    """The containers of this node's daemon."""
    return [vm for vm in core.all_vms(TECH) if vm["node"] == core.node_name()]


def lookup(key):
    """A container by full id, unique id prefix or name (as the daemon resolves references)."""
    mine = containers()
    for vm in mine:
        if key in (cid(vm), vm["name"], "/" + vm["name"]):
            return vm
    prefixed = [vm for vm in mine if len(key) >= 1 and cid(vm).startswith(key)]
    return prefixed[0] if len(prefixed) == 1 else None


def status_of(vm) -> str:
    """The docker state: created, running or exited."""
    if vm["state"] in ("running", "stopping"):
        return "running"
    if vm["state"] == "booting" or not vm["extra"].get("started_at"):
        return "created"
    return "exited"


def status_text(vm, now) -> str:
    state = status_of(vm)
    if state == "running":
        return "Up " + human_duration(now - vm["extra"].get("started_at", now))
    if state == "created":
        return "Created"
    return f"Exited ({vm['extra'].get('exit_code', 0)}) {human_duration(now - vm['since'])} ago"


def image_name(image) -> str:
    name = image.split("@")[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    for prefix in ("docker.io/", "library/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name


def image_tag(image) -> str:
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last else f"{image}:latest"


def pull_if_needed(image):
    """The first run of an image on a node pulls it (stderr lines), an unknown one is refused."""
    images = core.state_dir() / TECH / f"images-{core.node_name()}"
    have = set(images.read_text().split()) if images.exists() else set()
    name = image_name(image)
    if name in have:
        return
    print(f"Unable to find image '{image_tag(image)}' locally", file=sys.stderr)
    if name not in REGISTRY:
        raise DockerError(f"docker: Error response from daemon: pull access denied for {name}, repository does "
                          f"not exist or may require 'docker login'\n\nRun 'docker run --help' for more "
                          f"information", 125)
    tag = image_tag(image).rsplit(":", 1)[1]
    print(f"{tag}: Pulling from library/{name}\nDigest: sha256:{secrets.token_hex(32)}\n"
          f"Status: Downloaded newer image for {image_tag(image)}", file=sys.stderr)
    images.parent.mkdir(parents=True, exist_ok=True)
    images.write_text("\n".join(sorted(have | {name})) + "\n")


def start_container(vm):
    vm["extra"]["started_at"] = time.time() + vm["boot"]
    vm["extra"]["exit_code"] = 1 if vm.get("fail", {}).get("start") == "crash" else 0
    core.set_state(vm, "booting")


def kill_container(vm, code=137):
    vm["extra"]["exit_code"] = code
    core.set_state(vm, "off")


# --- commands --------------------------------------------------------------------------------------
def cmd_run(args):
    detach, name, i = False, None, 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        word = args[i]
        opt, eq, value = word.partition("=")
        if opt in ("-d", "--detach"):
            detach = True
        elif opt in RUN_VALUE_OPTS and not eq:
            value = args[i + 1] if i + 1 < len(args) else ""
            i += 1
        elif not opt.startswith("--") and "d" in opt[1:] and opt[1:].isalpha():
            detach = True            # combined short flags: -dit
        if opt == "--name":
            name = value
        i += 1
    if i >= len(args):
        raise DockerError('docker: "run" requires at least 1 argument.\nSee \'docker run --help\'.', 125)
    image, command = args[i], args[i + 1:]
    if name:
        clash = lookup(name)
        if clash is not None:
            raise DockerError(f'docker: Error response from daemon: Conflict. The container name "/{name}" is '
                              f'already in use by container "{cid(clash)}". You have to remove (or rename) that '
                              f"container to be able to reuse that name.\n\nRun 'docker run --help' for more "
                              f"information", 125)
    pull_if_needed(image)
    cid = secrets.token_hex(32)
    vm = core.new_vm(TECH, cid, name or f"sim_{cid[:8]}", extra={"image": image, "cmd": command,
                                                                   "created": time.time()})
    start_container(vm)
    if detach:
        print(cid)
    return 0


def cmd_start(args):
    rc = 0
    for key in [a for a in args if not a.startswith("-")]:
        vm = lookup(key)
        if vm is None:
            print(f"Error response from daemon: No such container: {key}", file=sys.stderr)
            rc = 1
            continue
        core.stuck_if(vm, "start")
        if core.failing(vm, "start"):
            print(f"Error response from daemon: failed to create task for container: failed to create shim "
                  f"task: OCI runtime create failed: runc create failed: unable to start container process: "
                  f"exec: \"{(vm['extra'].get('cmd') or ['sh'])[0]}\": permission denied: unknown",
                  file=sys.stderr)
            rc = 1
            continue
        if status_of(vm) != "running" and vm["state"] != "booting":
            start_container(vm)
        print(key)
    if rc:
        print(f"Error: failed to start containers: {', '.join(a for a in args if not a.startswith('-'))}",
              file=sys.stderr)
    return rc


def _stop_opts(args):
    timeout, names, i = STOP_TIMEOUT, [], 0
    while i < len(args):
        word = args[i]
        if word in ("-t", "--timeout", "--time", "-s", "--signal"):
            if word in ("-t", "--timeout", "--time"):
                timeout = int(args[i + 1])
            i += 2
            continue
        if word.startswith(("--timeout=", "--time=", "-t=")):
            timeout = int(word.split("=", 1)[1])
        elif not word.startswith("-"):
            names.append(word)
        i += 1
    return timeout, names


def cmd_stop(args):
    """Blocks until every container is down (the real client waits), killing it after the timeout."""
    timeout, names = _stop_opts(args)
    waiting, rc = [], 0
    for key in names:
        vm = lookup(key)
        if vm is None:
            print(f"Error response from daemon: No such container: {key}", file=sys.stderr)
            rc = 1
            continue
        core.stuck_if(vm, "stop")
        if core.failing(vm, "stop"):
            print(f"Error response from daemon: cannot stop container: {key}: tried to kill container, but "
                  f"did not receive an exit event", file=sys.stderr)
            rc = 1
            continue
        if vm["state"] in ("running", "booting"):
            vm["extra"]["exit_code"] = 0
            core.set_state(vm, "stopping")
        waiting.append((key, vm["id"]))
    if not waiting:
        return rc
    hang = any((core.load(TECH, cid) or {}).get("fail", {}).get("stop") == "hang" for _, cid in waiting)
    longest = max((core.load(TECH, cid) or {"shutdown": 0})["shutdown"] for _, cid in waiting)
    delay = min(timeout, longest) if not hang else timeout

    def finish():
        for key, cid in waiting:
            vm = core.load(TECH, cid)
            if vm is not None and vm["state"] != "off":
                kill_container(vm)       # the grace period is over: SIGKILL
            print(key)
        return rc

    raise core.After(delay, finish)


def cmd_kill(args):
    rc = 0
    for key in [a for a in args if not a.startswith("-")]:
        vm = lookup(key)
        if vm is None:
            print(f"Error response from daemon: No such container: {key}", file=sys.stderr)
            rc = 1
        elif status_of(vm) != "running" and vm["state"] != "booting":
            print(f"Error response from daemon: cannot kill container: {key}: container {cid(vm)} is not "
                  f"running", file=sys.stderr)
            rc = 1
        else:
            kill_container(vm)
            print(key)
    return rc


def _filters(args):
    out, i = [], 0
    while i < len(args):
        if args[i] in ("-f", "--filter"):
            out.append(args[i + 1].split("=", 1))
            i += 2
            continue
        if args[i].startswith("--filter="):
            out.append(args[i].split("=", 2)[1:])
        i += 1
    return out


def _matches(vm, filters):
    for key, value in filters:
        if key == "name":
            if not (re.search(value, vm["name"]) or re.search(value, "/" + vm["name"])):
                return False
        elif key == "id":
            if not cid(vm).startswith(value):
                return False
        elif key == "status":
            if status_of(vm) != value:
                return False
        else:
            raise DockerError(f"Error response from daemon: invalid filter '{key}'")
    return True


def cmd_ps(args):
    flags = set(a for a in args if a.startswith("-"))
    show_all = bool(flags & {"-a", "--all", "-aq", "-qa"})
    quiet = bool(flags & {"-q", "--quiet", "-aq", "-qa"})
    notrunc = "--no-trunc" in flags
    now = time.time()
    listed = [vm for vm in containers() if (show_all or status_of(vm) == "running")
              and _matches(vm, _filters(args))]
    listed.sort(key=lambda vm: vm["extra"].get("created", 0), reverse=True)
    if quiet:
        for vm in listed:
            print(cid(vm) if notrunc else cid(vm)[:12])
        return 0
    rows = []
    for vm in listed:
        command = " ".join(vm["extra"].get("cmd") or ["sh"])
        if not notrunc and len(command) > 20:
            command = command[:19] + "…"
        rows.append([cid(vm) if notrunc else cid(vm)[:12], vm["extra"].get("image", ""), f'"{command}"',
                     human_duration(now - vm["extra"].get("created", now)) + " ago", status_text(vm, now), "",
                     vm["name"]])
    print(table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], rows))
    return 0


def inspect_doc(vm) -> dict:
    state = status_of(vm)
    extra = vm["extra"]
    cmd = extra.get("cmd") or ["sh"]
    return {
        "Id": cid(vm), "Created": iso(extra.get("created")), "Path": cmd[0], "Args": cmd[1:],
        "State": {"Status": state, "Running": state == "running", "Paused": False, "Restarting": False,
                  "OOMKilled": False, "Dead": False, "Pid": 4242 if state == "running" else 0,
                  "ExitCode": extra.get("exit_code", 0), "Error": "",
                  "StartedAt": iso(extra.get("started_at")),
                  "FinishedAt": iso(vm["since"] if state == "exited" else None)},
        "Image": "sha256:" + (extra.get("image_id") or "0" * 64), "Name": "/" + vm["name"],
        "RestartCount": 0, "Driver": "overlay2",
        "HostConfig": {"NetworkMode": "bridge", "Privileged": False},
        "Config": {"Hostname": cid(vm)[:12], "Image": extra.get("image", ""), "Cmd": cmd, "Tty": False,
                   "OpenStdin": False, "Entrypoint": None, "Labels": {}},
    }


def render_template(template, doc) -> str:
    """The Go template subset the engine uses: `{{.A.B}}` and `{{json .A}}`."""
    def field(match):
        as_json, path = match.group(1), match.group(2)
        value = doc
        for part in path.strip(".").split(".") if path.strip(".") else []:
            value = value.get(part) if isinstance(value, dict) else None
        if as_json:
            return json.dumps(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return "<no value>" if value is None else str(value)
    return re.sub(r"\{\{\s*(json\s+)?(\.[\w.]*)\s*\}\}", field, template)


def cmd_inspect(args):
    template, kind, names, i = None, None, [], 0
    while i < len(args):
        word = args[i]
        if word in ("-f", "--format", "--type"):
            value = args[i + 1]
            template, kind = (value, kind) if word != "--type" else (template, value)
            i += 2
            continue
        if word.startswith(("--format=", "--type=")):
            key, value = word.split("=", 1)
            template, kind = (value, kind) if key == "--format" else (template, value)
        elif not word.startswith("-"):
            names.append(word)
        i += 1
    docs, rc = [], 0
    for key in names:
        vm = lookup(key)
        if vm is None:
            what = "container" if kind == "container" else "object"
            print(f"Error: No such {what}: {key}", file=sys.stderr)
            rc = 1
            continue
        docs.append(inspect_doc(vm))
    if template is not None:
        for doc in docs:
            print(render_template(template, doc))
    else:
        print(json.dumps(docs, indent=4))
    return rc


def cmd_exec(args):
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in ("-u", "--user", "-w", "--workdir", "-e", "--env") else 1
    if i >= len(args):
        raise DockerError('docker: "exec" requires at least 2 arguments.\nSee \'docker exec --help\'.', 1)
    key, words = args[i], args[i + 1:]
    vm = lookup(key)
    if vm is None:
        raise DockerError(f"Error response from daemon: No such container: {key}")
    if status_of(vm) != "running":
        raise DockerError(f"Error response from daemon: container {cid(vm)} is not running")
    from simulators.guest import guest_command

    return guest_command(vm, words)


def cmd_rm(args):
    force, rc = bool({"-f", "--force"} & set(args)), 0
    for key in [a for a in args if not a.startswith("-")]:
        vm = lookup(key)
        if vm is None:
            print(f"Error response from daemon: No such container: {key}", file=sys.stderr)
            rc = 1
        elif status_of(vm) == "running" and not force:
            print(f"Error response from daemon: cannot remove container \"/{vm['name']}\": container is running: "
                  f"stop the container before removing or force remove", file=sys.stderr)
            rc = 1
        else:
            core.plumb(vm, False)
            core.vm_path(TECH, vm["id"]).unlink()
            print(key)
    return rc


def cmd_info(args, host):
    print(f"Client:\n Version:    {VERSION}\n Context:    default\n Debug Mode: false\n\nServer:")
    mine = containers()
    running = sum(1 for vm in mine if status_of(vm) == "running")
    print(f" Containers: {len(mine)}\n  Running: {running}\n  Paused: 0\n  Stopped: {len(mine) - running}\n"
          f" Server Version: {VERSION}\n Storage Driver: overlay2\n Cgroup Driver: systemd\n"
          f" Name: {core.node_name()}\n Docker Root Dir: /var/lib/docker")
    return 0


COMMANDS = {"run": cmd_run, "start": cmd_start, "stop": cmd_stop, "kill": cmd_kill, "ps": cmd_ps,
            "inspect": cmd_inspect, "exec": cmd_exec, "rm": cmd_rm}


def main(argv):
    host, i = "unix:///var/run/docker.sock", 0
    while i < len(argv) and argv[i].startswith("-"):
        if argv[i] in ("-H", "--host"):
            host = argv[i + 1]
            i += 2
            continue
        if argv[i].startswith("--host="):
            host = argv[i].split("=", 1)[1]
        i += 1
    if i >= len(argv):
        raise DockerError("Usage:  docker [OPTIONS] COMMAND", 1)
    command, args = argv[i], argv[i + 1:]
    if command == "container" and args:        # `docker container ls` etc.
        command, args = {"ls": "ps", "list": "ps"}.get(args[0], args[0]), args[1:]
    down = daemon_flag(core.node_name()).exists()
    if command == "info":
        if down:
            print(f"Client:\n Version:    {VERSION}\n Context:    default\n Debug Mode: false\n\nServer:")
            raise DockerError(_no_daemon(host))
        return cmd_info(args, host)
    if command not in COMMANDS:
        raise DockerError(f"docker: unknown command: docker {command}\n\nRun 'docker --help' for more information")
    if down:
        if command == "inspect":
            print("[]")
        raise DockerError(_no_daemon(host))
    return COMMANDS[command](args)
