"""One btrfs filesystem as sync btrfs sees it on one node (the 1.x agent's `b1.8:lib/rcBtrfs.py`).

    vol = Volume(run, log, "deb1", root)                       # here
    vol = Volume(run, log, "deb1", root, peer="node2", transport=t)   # on a peer, through the node transport
    vol.ensure_mounted(); vol.has("deb1@sent"); vol.snapshot("deb1", "deb1@tosend", readonly=True)

The filesystem of label L is handled through its top-level subvolume mounted on `<var>/btrfs/L` (the agent's
`<pathvar>/btrfs/<label>`, `mount -t btrfs -o subvolid=0 LABEL=<label>`): the synced subvolume, its
`@tosend`/`@sent` snapshots and the received ones all live there, named relative to that root. Subvolume
names given to the methods are relative to the root.

Probes (findmnt, `btrfs filesystem label`, `btrfs subvolume list|show`) are quiet: no log, no journal record.
Every command that changes something (mkdir, mount, snapshot, delete, mv) is logged and journaled by the
runner, one record a command.
"""

from pathlib import Path

from drivers.base import DriverError

PROBE_TIMEOUT = 60
ACTION_TIMEOUT = 300      # a snapshot or a delete: metadata only, seconds


class Volume:
    def __init__(self, run, log, label, root, peer=None, transport=None):
        self._run, self.log = run, log
        self.label, self.root = label, Path(root)
        self.peer, self.transport = peer, transport

    @property
    def where(self) -> str:
        return f"node {self.peer}" if self.peer else "this node"

    def path(self, name) -> Path:
        return self.root / name

    def run(self, argv, timeout=ACTION_TIMEOUT, **kw):
        """argv here, or on the peer through the transport; the runner's Result."""
        if self.peer is None:
            return self._run(argv, timeout=timeout, **kw)
        return self.transport.run(self._run, self.peer, argv, timeout=timeout, **kw)

    def probe(self, argv):
        return self.run(argv, timeout=PROBE_TIMEOUT, quiet=True, check=False)

    # --- the root ---------------------------------------------------------------------------------
    def ensure_mounted(self):
        """The top-level subvolume of the filesystem labelled `label` on the root: mounted if it is not
        (the agent's setup_rootvol); refused when something else is mounted there."""
        found = self.probe(["findmnt", "-n", "-o", "FSTYPE,FSROOT", "--mountpoint", str(self.root)])
        if found.rc != 0:       # not a mount point
            self.run(["mkdir", "-p", "--", str(self.root)])
            self.run(["mount", "-t", "btrfs", "-o", "subvolid=0", "--", f"LABEL={self.label}", str(self.root)])
            return
        fstype, _, fsroot = found.out.strip().partition(" ")
        if fstype != "btrfs" or fsroot.strip() != "/":
            # snapshots and subvolume paths are named from the top-level subvolume: another mount would
            # put them elsewhere, or fail on a filesystem that is not btrfs
            raise DriverError(f"{self.root} on {self.where} is not the top-level subvolume of a btrfs filesystem "
                              f"(mounted there: {fstype} {fsroot.strip()}); umount it or mount "
                              f"LABEL={self.label} there with -o subvolid=0")
        label = self.probe(["btrfs", "filesystem", "label", "--", str(self.root)]).out.strip()
        if label != self.label:
            raise DriverError(f"wrong fs mounted in {self.root} on {self.where}: {label or '(no label)'}, "
                              f"expected {self.label}")

    # --- subvolumes -------------------------------------------------------------------------------
    def subvols(self) -> list[str]:
        """The paths of every subvolume of the filesystem, relative to the top level."""
        res = self.probe(["btrfs", "subvolume", "list", "-p", "--", str(self.root)])
        if res.rc != 0:
            detail = (res.err or res.out).strip().splitlines()
            raise DriverError(f"cannot list the subvolumes of {self.root} on {self.where}"
                              + (f": {detail[-1]}" if detail else ""))
        # `ID 256 gen 7 parent 5 top level 5 path deb1@sent`: the path is the rest of the line
        return [line.split(" path ", 1)[1] for line in res.out.splitlines() if " path " in line]

    def has(self, name) -> bool:
        return name in self.subvols()

    def under(self, name) -> list[str]:
        """`name` and the subvolumes nested in it, deepest first (a subvolume is deleted before its parent)."""
        found = [s for s in self.subvols() if s == name or s.startswith(name + "/")]
        return sorted(found, reverse=True)

    def snapshot(self, origin, snap, readonly=False):
        if self.has(snap):
            raise DriverError(f"{self.path(snap)} should not exist on {self.where}")
        opts = ["-r"] if readonly else []
        self.run(["btrfs", "subvolume", "snapshot", *opts, "--", str(self.path(origin)), str(self.path(snap))])

    def delete(self, *names):
        """Delete these subvolumes (those that exist), in one command."""
        present = set(self.subvols())
        paths = [str(self.path(n)) for n in names if n in present]
        if paths:
            self.run(["btrfs", "subvolume", "delete", "--", *paths])

    def rename(self, src, dst):
        if self.has(dst):
            raise DriverError(f"{self.path(dst)} should not exist on {self.where}")
        self.run(["mv", "--", str(self.path(src)), str(self.path(dst))])

    def generation(self, name) -> str:
        """The subvolume's generation (transid): what the state file records as its snapshot id."""
        res = self.probe(["btrfs", "subvolume", "show", "--", str(self.path(name))])
        for line in res.out.splitlines():
            if line.strip().startswith("Generation"):
                return line.split()[-1]
        raise DriverError(f"can't fetch {self.path(name)} transid on {self.where}: "
                          f"{(res.err or res.out).strip() or f'rc {res.rc}'}")
