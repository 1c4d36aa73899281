"""How a node reaches its peers (docs/design.md §9): run a command there, copy files there.

One seam, declared by `Transport`: every method takes the runner's `run` callable per call (so one
transport object serves every service and resource) and plain values:

    transport.command(peer, argv, env=None) -> (argv, env)   # the local command line that runs argv
                                                      # on peer, and the variables to add to its env;
                                                      # `env`: variables argv must see on the peer
    transport.run(run, peer, argv, timeout=60, log=None, remote_env=None, **kw) -> Result   # that, run
    transport.rsync(run, peer, sources, dst, options=(), timeout=3600, **kw) -> Result
    transport.rsync_same_path(run, peer, files, options=(), timeout=3600, **kw) -> Result
    transport.is_mountpoint(run, peer, path, timeout=60) -> bool
    transport.map_path(peer, path) -> Path                   # where the peer keeps the path we name
`run(..., input=<file opened rb>)` feeds that file to the command on the peer (its stdin: ssh without
`-n`): how sync btrfs sends a `btrfs send` stream to the peer's `btrfs receive`.

- SshTransport (production): `ssh <opts> <peer> <argv shell-quoted>` and
  `rsync <options> -e "ssh <opts>" <sources> <peer>:<dst>`; ssh forwards no environment, so the
  variables argv needs there (the action id and parent of core.lineage) are written into the remote
  command line: `ssh ... hv2 'env OSVC_ACTION_ID=.. OSVC_PARENT=.. osvc-engine -s web start'`.
  Root trust between nodes as in the seeds.
- LocalTransport(roots={node: Path}) (tests, demo): every node is a root folder on this machine.
  `command` is argv itself with OSVC_ROOT=roots[peer], OSVC_NODENAME=peer and `env` (a leading
  `osvc-engine` word becomes the `osvc-engine` script next to sys.executable when there is one,
  so tests run the checkout's engine). Destination paths are mapped:
    * a path under any node's root   -> the same relative path under roots[peer]
      (node1's etc/svc.env lands in the peer's etc/svc.env: what the internal config sync needs);
    * any other absolute path P      -> roots[peer] / "fs" / P (relative), created on demand.
"""

import os
import shlex
import sys
from pathlib import Path

# 1.x rsh (rcGlobalEnv, Linux): batch mode, no host key prompt, short connect timeout
SSH = ["ssh", "-q", "-o", "StrictHostKeyChecking=no", "-o", "ForwardX11=no", "-o", "BatchMode=yes",
       "-o", "ConnectTimeout=10"]


class Transport:
    """The transport contract (see the module docstring); `run` is written once, on `command`."""

    def command(self, peer, argv, env=None, stdin=False) -> tuple[list[str], dict[str, str]]:
        """(argv to run here, variables to add to its environment) that run `argv` on `peer`, where
        it sees the variables `env` (whatever the local environment holds). `stdin`: argv reads what
        the local command is fed (else it reads nothing)."""
        raise NotImplementedError

    def map_path(self, peer, path) -> Path:
        """Where `path`, as this node names it, lives on `peer`: the same path (nodes are installed
        alike), except where nodes are folders of one machine (LocalTransport)."""
        return Path(path)

    def run(self, run, peer, argv, timeout=60, log=None, env=None, remote_env=None, **kw):
        """Run `argv` on `peer` through the runner's `run`; logs `exec '...' on node <peer>` to `log`.
        `env`: variables of the local command; `remote_env`: variables argv sees on the peer."""
        argv = [str(a) for a in argv]
        if log is not None:
            log.info(f"exec '{' '.join(argv)}' on node {peer}")
        local, peer_env = self.command(peer, argv, remote_env, stdin=kw.get("input") is not None)
        if env or peer_env:
            kw["env"] = {**(env or {}), **peer_env}
        return run(local, timeout=timeout, **kw)

    def rsync(self, run, peer, sources, dst, options=(), timeout=3600, **kw):
        """rsync `sources` to `dst` on `peer`."""
        raise NotImplementedError

    def rsync_same_path(self, run, peer, files, options=(), timeout=3600, **kw):
        """Each file to where the peer keeps the same path, folders created; the last Result."""
        raise NotImplementedError

    def is_mountpoint(self, run, peer, path, timeout=60) -> bool:
        """Is `path` a mount point on `peer`?"""
        raise NotImplementedError


class SshTransport(Transport):
    def __init__(self, ssh=None):
        self.ssh = list(ssh or SSH)

    def command(self, peer, argv, env=None, stdin=False):
        words = [str(a) for a in argv]
        if env:       # ssh forwards no environment: the remote shell runs `env K=V ... argv`
            words = ["env", *(f"{k}={v}" for k, v in env.items()), *words]
        # -n: the remote command reads nothing, unless it is fed a stream (btrfs receive)
        return [*self.ssh, *([] if stdin else ["-n"]), "--", peer, shlex.join(words)], {}

    def rsync_argv(self, peer, sources, dst, options=()) -> list:
        return ["rsync", *options, "-e", " ".join(self.ssh), "--", *map(str, sources), f"{peer}:{dst}"]

    def rsync(self, run, peer, sources, dst, options=(), timeout=3600, **kw):
        return run(self.rsync_argv(peer, sources, dst, options), timeout=timeout, **kw)

    def rsync_same_path(self, run, peer, files, options=(), timeout=3600, **kw):
        """Each file to the same absolute path on the peer, folders created (rsync -R, docs/agent-reference.md §5.12)."""
        return run(self.rsync_argv(peer, files, "/", ["-R", *options]), timeout=timeout, **kw)

    def is_mountpoint(self, run, peer, path, timeout=60):
        """`mountpoint -q` on the peer."""
        return self.run(run, peer, ["mountpoint", "-q", "--", path], timeout=timeout, check=False).rc == 0


class LocalTransport(Transport):
    def __init__(self, roots: dict, engine=None):
        self.roots = {name: Path(root) for name, root in roots.items()}
        self.engine = list(engine) if engine else _default_engine()

    def root(self, peer) -> Path:
        try:
            return self.roots[peer]
        except KeyError:
            raise KeyError(f"node {peer} has no root in this LocalTransport "
                           f"(known: {', '.join(sorted(self.roots))})") from None

    def map_path(self, peer, path) -> Path:
        """Where `path` (as the sender names it) lives on `peer`: see the module docstring."""
        path = Path(os.path.abspath(path))
        for root in self.roots.values():
            try:
                return self.root(peer) / path.relative_to(root.resolve())
            except ValueError:
                try:
                    return self.root(peer) / path.relative_to(root)
                except ValueError:
                    continue
        return self.root(peer) / "fs" / path.relative_to("/")

    def command(self, peer, argv, env=None, stdin=False):
        argv = [str(a) for a in argv]
        if argv and argv[0] == "osvc-engine":
            argv = self.engine + argv[1:]
        return argv, {**(env or {}), "OSVC_ROOT": str(self.root(peer)), "OSVC_NODENAME": peer}

    def rsync_argv(self, peer, sources, dst, options=()) -> list:
        target = self.map_path(peer, dst)
        # keep a trailing slash: rsync reads "dst/" as "into this directory"
        text = str(target) + ("/" if str(dst).endswith("/") else "")
        return ["rsync", *options, "--", *map(str, sources), text]

    def rsync(self, run, peer, sources, dst, options=(), timeout=3600, **kw):
        argv = self.rsync_argv(peer, sources, dst, options)
        parent = Path(argv[-1]) if argv[-1].endswith("/") else Path(argv[-1]).parent
        parent.mkdir(parents=True, exist_ok=True)
        return run(argv, timeout=timeout, **kw)

    def is_mountpoint(self, run, peer, path, timeout=60):
        """Is the peer's `path` (map_path) a mount point on this machine?"""
        return run(["mountpoint", "-q", "--", str(self.map_path(peer, path))], timeout=timeout, check=False).rc == 0

    def rsync_same_path(self, run, peer, files, options=(), timeout=3600, **kw):
        """Each file to where the peer keeps that path (map_path): one rsync per file, since
        nodes here are folders and "the same path" differs per node. Stops at the first failure."""
        res = None
        for path in files:
            res = self.rsync(run, peer, [path], str(path), options, timeout=timeout, **kw)
            if res.rc != 0:
                break
        return res


def node_transport(node):
    """How `node` reaches its peers, from `etc/node.conf`:

        [transport]
        kind = ssh            # default: SshTransport
        [transport]
        kind = local          # LocalTransport over the [roots] table (every node a folder here)
        [roots]
        node1 = /srv/osvc/node1
        node2 = /srv/osvc/node2
    """
    kind = str(node.setting("transport", "kind", "ssh")).strip().lower()
    if kind == "ssh":
        return SshTransport()
    if kind == "local":
        roots = {node.name: node.root, **{peer: Path(root) for peer, root in node.section("roots").items()}}
        return LocalTransport(roots)
    raise ValueError(f"{node.conf_path}: [transport] kind = {kind}: use ssh or local")


def _default_engine() -> list:
    script = Path(sys.executable).with_name("osvc-engine")
    return [str(script)] if script.exists() else ["osvc-engine"]
