"""A peer: another engine this node talks to, to run a command there and read its answer as bytes.

The cluster timeline (`journal pull`, `tail --cluster -f`) asks peers for their journal rows. A peer
is anything that can run an argv where another engine lives:

    class Peer:                      # the whole interface
        name: str                    # the node name its records carry (the mirror's name)
        def run(argv, timeout=60) -> PeerResult(rc, out: bytes, err: bytes)
        def spawn(argv) -> subprocess.Popen   (stdout a pipe of bytes; for followers)

- NodePeer(name, transport): a cluster node, through the node transport (`Transport.command`: ssh
  in production, the local folders of LocalTransport in tests and the demo).
- A guest (a container of an encapsulated service) is one more kind: a GuestPeer runs argv through
  its container driver's runmethod (`lxc-attach -n vm1 --`, `zlogin`, ssh...), with an explicit,
  clean environment (`env -i PATH=... argv`: lxc-attach forwards the caller's environment). It only
  needs `name`, `run` and `spawn`; nothing else of the cluster code knows how a peer is reached.

Bytes in, bytes out: a raw journal stream is binary (msgpack), never decoded as text here. Nothing is
journaled or logged: reading a peer's journal is not an action.
"""

import subprocess

from core.record import Record


class PeerResult(Record):
    rc: int
    out: bytes = b""
    err: bytes = b""

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def error_text(self) -> str:
        """The last line of stderr, for a message (`ssh: connect to host hv2 port 22: No route to host`)."""
        lines = [x for x in self.err.decode("utf-8", "replace").splitlines() if x.strip()]
        return lines[-1].strip() if lines else f"rc {self.rc}"


class Peer:
    """The peer interface (see the module docstring)."""

    name: str = ""

    def command(self, argv) -> tuple[list, dict]:
        """(local argv, variables to add to the local environment) that run `argv` on the peer."""
        raise NotImplementedError

    def run(self, argv, timeout=60) -> PeerResult:
        """Run argv on the peer; rc 124 (as timeout(1) says it) when it outlives `timeout` seconds."""
        local, env = self.command([str(a) for a in argv])
        try:
            proc = subprocess.run(local, env=_env(env), stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            return PeerResult(124, exc.stdout or b"", (exc.stderr or b"") + b"\ntimed out")
        except OSError as exc:
            return PeerResult(127, b"", f"{local[0]}: {exc.strerror or exc}".encode())
        return PeerResult(proc.returncode, proc.stdout, proc.stderr)

    def spawn(self, argv):
        """Start argv on the peer; its stdout a binary pipe (a follower reads it as it comes)."""
        local, env = self.command([str(a) for a in argv])
        return subprocess.Popen(local, env=_env(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)

    def __repr__(self):
        return f"{type(self).__name__}({self.name})"


class NodePeer(Peer):
    """A cluster node reached through the node transport (drivers.transport)."""

    def __init__(self, name, transport):
        self.name, self.transport = name, transport

    def command(self, argv):
        return self.transport.command(self.name, argv)


# Runmethods that exec their words directly; every other one (ssh, vzctl exec, zlogin, srp_su -c...)
# hands them to the guest's shell as one line, so each word goes quoted (a cursor's `;` would end it).
EXEC_RUNMETHODS = ("lxc-attach", "docker", "nsenter")


def guest_words(runmethod, words) -> list:
    """`runmethod` + `words` so that the guest runs exactly `words`."""
    import os
    import shlex

    if runmethod and os.path.basename(runmethod[0]) not in EXEC_RUNMETHODS:
        words = [shlex.quote(str(w)) for w in words]
    return [*runmethod, *words]


class GuestPeer(Peer):
    """The engine inside a container of an encapsulated service, reached through the container's
    runmethod with a clean environment (`env -i PATH=...`: lxc-attach forwards the caller's, whose
    OSVC_ROOT would point the guest engine at the host's root). `name` is the guest's node name (its
    hostname), the one its records carry; `engine` the guest engine's path ([container] guest_engine)."""

    def __init__(self, name, runmethod, engine="osvc-engine", path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"):
        self.name, self.runmethod, self.engine, self.path = name, list(runmethod), engine, path

    def command(self, argv):
        if argv and argv[0] == "osvc-engine":
            argv = [self.engine, *argv[1:]]
        return guest_words(self.runmethod, ["env", "-i", f"PATH={self.path}", *argv]), {}


def _env(extra):
    if not extra:
        return None
    import os

    return {**os.environ, **extra}
