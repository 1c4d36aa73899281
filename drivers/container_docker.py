"""Docker containers (docs/agent-reference.md §6.1, docker row; `b1.8:lib/resContainerDocker.py`).

    start       docker start <id>            when the container exists (docker inspect finds its name)
                docker run -d --name=<name> <run_args> <run_image> [<run_command>]   otherwise
    stop        docker stop <id>             (the client waits for the container to exit)
    force stop  docker kill <id>
    up          the container's id is in `docker ps -q --no-trunc` (the probe filters on the name,
                so the same one command answers on a peer for the conflict probe, where the
                local id means nothing: each node has its own daemon)
    status      `docker daemon is not running` (and down) when `docker info` fails

No ping (a container has no address of its own to the engine) and operational is always true;
startup timeout 30 s (domain.families.TIMEOUTS). The guest runs commands through `docker exec`.

Container name: `<svc>.<rid with # as .>` (1.8). The `name` keyword defaults to the service name,
which the containers of one service cannot share, so that default stands for `<svc>.<rid>`; any
other value names the container (what 1.9 calls a user-defined name).

The daemon: the node's (docker's default socket), or a private one when `etc/node.conf [paths]
docker_socket` names its socket: every command then runs `docker -H unix://<socket> ...`. Starting
that private daemon is not the driver's job here (the reference's private daemon management is
left out). DEFAULT `docker_exe` names the client binary (default `docker` on PATH).
"""

import re
import shlex

from drivers.base import DriverError
from drivers.container import PROBE_TIMEOUT, Container

RUN_TIMEOUT = 300     # docker run may pull the image first
STOP_GRACE = 10       # docker stop waits this long before it kills the container itself
# run_args options the driver sets itself (reference _add_run_args drops them): option -> takes a value
OWN_OPTIONS = {"-d": False, "--detach": False, "--name": True}


def drop_own_options(args):
    """run_args without -d/--detach/--name (the driver detaches and names the container)."""
    out, skip = [], False
    for word in args:
        if skip:
            skip = False
            continue
        opt = word.split("=", 1)[0]
        if opt in OWN_OPTIONS:
            skip = OWN_OPTIONS[opt] and "=" not in word
            continue
        out.append(word)
    return out


class Docker(Container):
    pings = False

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        name = self.conf.get("name")
        if not name or name == ctx.svcname:
            name = f"{ctx.svcname}.{res.rid.replace('#', '.')}"
        self.name = self.hostname = str(name)
        self.image = str(self.conf.get("run_image") or "")
        self.run_args = shlex.split(str(self.conf.get("run_args") or ""))
        self.run_command = shlex.split(str(self.conf.get("run_command") or ""))

    def label(self) -> str:
        return f"{self.name}@{self.image}" if self.image else self.name

    @property
    def addr(self):
        """Docker skips the name resolution of the container sequence (docs/agent-reference.md §5.5 step 1)."""
        return None

    def docker(self, *args) -> list:
        spec = self.ctx.spec
        exe = (spec.default.get("docker_exe") if spec is not None else None) or "docker"
        socket = self.ctx.node.setting("paths", "docker_socket") if self.ctx.node is not None else None
        return [str(exe), *(["-H", f"unix://{socket}"] if socket else []), *args]

    # --- queries ----------------------------------------------------------------------------------
    def container_id(self) -> str | None:
        res = self.probe(self.docker("inspect", "--type=container", "--format={{.Id}}", self.name))
        cid = res.out.strip() if res.ok else ""
        return cid or None

    def daemon_running(self) -> bool:
        return self.probe(self.docker("info")).ok

    def up_argv(self) -> list:
        return self.docker("ps", "-q", "--no-trunc", "--filter", f"name=^{re.escape(self.name)}$")

    def parse_up(self, result) -> bool:
        return result.ok and any(re.fullmatch(r"[0-9a-f]{64}", line.strip()) for line in result.out.splitlines())

    def operational(self) -> bool:
        return True

    def runmethod(self) -> list:
        return self.docker("exec", self.name)

    def status(self):
        try:
            if self.is_up():
                return "up", []
            if not self.daemon_running():
                return "down", ["docker daemon is not running"]
        except DriverError as exc:      # no docker client at all
            return "warn", [str(exc)]
        return "down", []

    # --- actions ----------------------------------------------------------------------------------
    def container_start(self):
        cid = self.container_id()
        if cid:
            self.ctx.run(self.docker("start", cid), timeout=RUN_TIMEOUT)
            return
        if not self.image:
            raise DriverError(f"{self.res.rid}: run_image is not set: the image to run container {self.name} from")
        self.ctx.run(self.docker("run", "-d", f"--name={self.name}", *drop_own_options(self.run_args), self.image,
                                 *self.run_command), timeout=RUN_TIMEOUT)

    def _by_id(self, verb):
        cid = self.container_id()
        if cid is None:
            raise DriverError(f"container {self.name} not found by the docker daemon (docker inspect)")
        self.ctx.run(self.docker(verb, cid), timeout=max(self.stop_timeout, STOP_GRACE + PROBE_TIMEOUT))

    def container_stop(self):
        self._by_id("stop")

    def container_forcestop(self):
        self._by_id("kill")
