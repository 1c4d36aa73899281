"""sync btrfs: replicate a btrfs subvolume to the peer nodes with btrfs send/receive (the 1.x agent's
`b1.8:lib/resSyncBtrfs.py`, label as in `b1.5`).

Keywords (`b1.8:lib/svcBuilder.py` add_syncs_btrfs): src = `<fs label>:<subvolume>`, dst =
`<fs label>:<subvolume>` (on the peers), target (`nodes`, `drpnodes`, or both words), recursive,
sync_max_delay (minutes, default 1440), schedule. Label: `btrfs of <src> to <target words as a Python
list>` (`btrfs of deb1:deb1 to ['nodes']`: 1.5's `"%s" % target`; 1.8 joins the words with ", ").

A filesystem is reached through its top-level subvolume mounted on `<var>/btrfs/<label>`
(drivers/btrfs_volume.py), here and on each peer. One sync, for the peers of the action's targets:

    here:      btrfs subvolume snapshot -r <root>/<sub> <root>/<sub_>@tosend   (unless a failed sync left it)
    per peer:  btrfs subvolume delete <peer root>/<sub_>@tosend                 (a failed sync's leftover)
               btrfs send -f <stream> [-c <sub_>@sent -p <sub_>@sent] <root>/<sub_>@tosend
                     (incremental when both sides hold @sent, else the whole subvolume)
               btrfs receive <peer root>      (stdin: the stream, through the node transport)
               btrfs subvolume delete <peer root>/<sub_>@sent; mv @tosend @sent   (rotation)
               btrfs subvolume delete <peer root>/<dst> (and nested); btrfs subvolume snapshot
                     <peer root>/<sub_>@sent <peer root>/<dst>                     (install, writable)
    here:      btrfs subvolume delete <root>/<sub_>@sent; mv @tosend @sent
    state:     `<date>;<@sent generation>` in var/<svc>_<rid>_btrfs_state, copied to each peer

`<sub_>` is the source subvolume with '/' replaced by '_' (the agent's names). The agent pipes send into
receive; here the stream goes through a file (var/<svc>/sync/<rid>/, removed after each peer), so each
command is one runner call and one journal record with its own rc and stderr, and nothing needs a shell
or a thread (the journal is written from one thread). The cost: var must hold one stream (the whole
subvolume on a first sync). The first failure stops the sync, as in the agent: no rotation here, no state.

Status (a read of the state file; every node has it, the peers get a copy): no peer in the targets -> n/a
`no destination nodes`; no state file -> warn `btrfs state file not found`; older than sync_max_delay ->
warn `Last sync on <date> older than <n> minutes`; else up.

`recursive = true` is refused at sync: the agent passed `-R` to `btrfs subvolume snapshot` and
`btrfs send`, options btrfs-progs does not have.
"""

import datetime
import os
from pathlib import Path, PurePosixPath

from core.files import make_dirs
from drivers.base import DriverError
from drivers.sync import Sync
from drivers.btrfs_volume import Volume
from drivers.sync_rsync import DEFAULT_MAX_DELAY, SYNC_TIMEOUT, words

SENT, TOSEND = "@sent", "@tosend"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"      # the agent's str(datetime.now())


def split_ref(value, keyword="src") -> tuple[str, str]:
    """(label, subvolume) of `<label>:<subvolume>`; DriverError for what would name another place."""
    text = str(value or "")
    label, sep, subvol = text.partition(":")
    parts = PurePosixPath(subvol).parts
    if (not sep or not label or not subvol or "/" in label or label in (".", "..") or subvol.startswith("/")
            or any(p in (".", "..") for p in parts) or subvol.endswith("/")):
        raise DriverError(f"malformed {keyword} value '{text}': <fs label>:<subvolume> expected "
                          f"(a subvolume path relative to the filesystem's top level)")
    return label, subvol


class SyncBtrfs(Sync):

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.src = str(self.conf.get("src") or "")
        self.dst = str(self.conf.get("dst") or "")
        self.targets = words(self.conf.get("target"))
        self.max_delay = int(self.conf.get("sync_max_delay") or DEFAULT_MAX_DELAY)   # minutes

    def label(self) -> str:
        return f"btrfs of {self.src} to {self.targets!r}"

    def peers(self, target=None) -> list[str]:
        """Peer node names of our targets (or of one target word), this node excluded, in order."""
        default = getattr(self.ctx.spec, "default", None) or {}
        found = []
        for word in self.targets:
            if target is None or word == target:
                found += [n for n in words(default.get(word)) if n != self.ctx.node.name and n not in found]
        return found

    # --- names ------------------------------------------------------------------------------------
    def refs(self):
        """((src label, src subvolume), (dst label, dst subvolume), snapshot base name)."""
        src, dst = split_ref(self.src, "src"), split_ref(self.dst, "dst")
        return src, dst, src[1].replace("/", "_")

    def root(self, label) -> Path:
        return self.ctx.node.var / "btrfs" / label

    @property
    def state_file(self) -> Path:
        return self.ctx.node.var / f"{self.ctx.svcname}_{self.res.rid}_btrfs_state"

    # --- status -----------------------------------------------------------------------------------
    def status(self):
        try:
            self.refs()
        except DriverError as exc:
            return "n/a", [str(exc)]
        if not self.peers():
            return "n/a", ["no destination nodes"]
        try:
            text = self.state_file.read_text()
        except FileNotFoundError:
            return "warn", ["btrfs state file not found"]
        except OSError as exc:
            return "warn", [f"{self.state_file}: {exc.strerror}"]
        try:
            last = datetime.datetime.strptime(text.strip().split(";")[0], DATE_FORMAT)
        except ValueError:
            return "warn", [f"{self.state_file} is corrupted"]
        if last < datetime.datetime.now() - datetime.timedelta(minutes=self.max_delay):
            return "warn", [f"Last sync on {last} older than {self.max_delay} minutes"]
        return "up", []

    # --- actions ----------------------------------------------------------------------------------
    def _sync(self, target) -> list[str]:
        """Replicate to the peers of `target` (None: every target); returns the peers reached."""
        if target and target not in self.targets:
            return []
        if self.ctx.service_avail not in (None, "up") and not self.ctx.force:
            self.ctx.log.info("won't sync this resource for a service not up")
            return []
        peers = self.peers(target)
        if not peers:
            self.ctx.log.info("no destination nodes")
            return []
        (src_label, src_subvol), (dst_label, dst_subvol), base = self.refs()
        if self.conf.get("recursive"):
            raise DriverError("recursive = true is not supported: btrfs-progs has no recursive snapshot or send "
                              "(the 1.x agent's -R options); sync each subvolume with its own resource")
        here = Volume(self.ctx.run, self.ctx.log, src_label, self.root(src_label))
        here.ensure_mounted()
        if not here.has(base + TOSEND):
            here.snapshot(src_subvol, base + TOSEND, readonly=True)
        for peer in peers:
            there = Volume(self.ctx.run, self.ctx.log, dst_label,
                           self.transport.map_path(peer, self.root(dst_label)), peer=peer, transport=self.transport)
            there.ensure_mounted()
            there.delete(base + TOSEND)
            incremental = here.has(base + SENT) and there.has(base + SENT)
            self._send(here, there, base, incremental)
            self._rotate(there, base)
            self._install(there, base, dst_subvol)
        self._rotate(here, base)
        self._write_state(here, base)
        for peer in peers:
            self._push_state(peer)
        return peers

    def _send(self, here, there, base, incremental):
        """btrfs send of @tosend (on @sent when incremental) into a file, then btrfs receive of it on the peer."""
        parent = ["-c", str(here.path(base + SENT)), "-p", str(here.path(base + SENT))] if incremental else []
        spool = self.ctx.node.svc_var(self.ctx.svcname) / "sync" / self.res.rid
        make_dirs(spool)
        stream = spool / f"{base}{TOSEND}.stream"
        timeout = int(self.ctx.timeouts.sync or SYNC_TIMEOUT)
        try:
            self.ctx.run(["btrfs", "send", "-f", str(stream), *parent, "--", str(here.path(base + TOSEND))],
                         timeout=timeout)
            with open(stream, "rb") as feed:
                there.run(["btrfs", "receive", "--", str(there.root)], timeout=timeout, input=feed)
        finally:
            stream.unlink(missing_ok=True)

    @staticmethod
    def _rotate(vol, base):
        """@tosend becomes @sent: the base of the next incremental send."""
        vol.delete(base + SENT)
        vol.rename(base + TOSEND, base + SENT)

    @staticmethod
    def _install(vol, base, dst_subvol):
        """The destination subvolume becomes a writable snapshot of what was received."""
        vol.delete(*vol.under(dst_subvol))
        parent = str(PurePosixPath(dst_subvol).parent)
        if parent != ".":
            vol.run(["mkdir", "-p", "--", str(vol.path(parent))])
        vol.snapshot(base + SENT, dst_subvol)

    def _write_state(self, here, base):
        gen = here.generation(base + SENT)
        self.ctx.log.info(f"update state file with snap uuid {gen}")
        make_dirs(self.state_file.parent)
        tmp = self.state_file.with_name(f".{self.state_file.name}.tmp")
        tmp.write_text(f"{datetime.datetime.now().strftime(DATE_FORMAT)};{gen}\n")
        os.replace(tmp, self.state_file)

    def _push_state(self, peer):
        """The peer gets our state file at the same place (a passive node shows how fresh its copy is)."""
        self.transport.rsync(self.ctx.run, peer, [str(self.state_file)], str(self.state_file), ["-t"], timeout=120)
