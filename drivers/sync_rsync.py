"""sync rsync: copy `src` to `dst` on the peer nodes, through the node transport (docs/agent-reference.md §5.12).

Keywords: src (globbed words), dst, target (`nodes`, `drpnodes`), options (extra rsync options,
appended to the defaults), sync_max_delay (minutes, default 1440), internal (the `sync#i0` the
config layer adds: the service's env file and launcher folder to every peer's etc/, then every
container's `files_to_sync()` -- vm.cfg, the libvirt XML, the zone export... -- to the same path on
the peer, so the VM can start wherever the service fails over).

The transport is the driver's `transport` (`ctx.transport`, else the node's `[transport]` setting).
After each successful copy the time is stamped in `var/<svc>/sync/<rid>/<peer>`, and the stamp is
copied to the peer under the same path (named after the peer), so a passive node can tell how fresh
its copy is.

Status (`ctx.service_avail`: the service's avail here, when the engine knows it):
- no peer in the targets -> n/a `no destination nodes`;
- service not up here (passive) -> warn `passive node needs update` if the copy this node received
  is older than sync_max_delay, else up;
- service up here (or unknown) -> down `<nodes> need update` for the peers not synced within
  sync_max_delay, else up.
"""

import glob
import os
import shlex
import time
from pathlib import Path

from core.files import make_dirs
from drivers.base import DriverError
from drivers.sync import Sync

DEFAULT_OPTIONS = ["-HpogDtrlx", "--numeric-ids"]   # archive-like, same ids, one filesystem
INTERNAL_OPTIONS = ["--exclude=*.core"]
DEFAULT_MAX_DELAY = 1440                            # minutes
SYNC_TIMEOUT = 3600


def words(value) -> list[str]:
    if value in (None, ""):
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else shlex.split(str(value))


class SyncRsync(Sync):

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.internal = bool(self.conf.get("internal"))
        self.targets = words(self.conf.get("target")) or (["drpnodes", "nodes"] if self.internal else [])
        self.max_delay = float(self.conf.get("sync_max_delay") or DEFAULT_MAX_DELAY) * 60

    # --- what and where ---------------------------------------------------------------------
    def label(self) -> str:
        what = "svc config" if self.internal else " ".join(words(self.conf.get("src")))
        return f"rsync {what} to {', '.join(self.targets)}"

    def peers(self, target=None) -> list[str]:
        """Peer node names of our targets (or of one target word), this node excluded, in order."""
        default = getattr(self.ctx.spec, "default", None) or {}
        found = []
        for word in self.targets:
            if target and word != target:
                continue
            for name in words(default.get(word)):
                if name != self.ctx.node.name and name not in found:
                    found.append(name)
        return found

    def sources(self) -> list[str]:
        if self.internal:
            node, svc = self.ctx.node, self.ctx.svcname
            return [str(p) for p in (node.env_file(svc), node.launchers_dir(svc)) if p.exists()]
        found = []
        for pattern in words(self.conf.get("src")):
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise DriverError(f"{pattern}: no such file (src of {self.res.rid})")
            found += matches
        return found

    def container_files(self) -> list[str]:
        """What the service's containers need on a peer to run there: their files_to_sync()."""
        if not self.internal or self.ctx.spec is None:
            return []
        found = []
        for res in self.ctx.spec.resources:
            if res.family != "container" or res.disabled or res.in_guest:
                continue
            drv = self.ctx.driver_of(res.rid)
            found += [str(f) for f in (drv.files_to_sync() if drv is not None else ()) if os.path.exists(f)]
        return list(dict.fromkeys(found))

    def destination(self) -> str:
        if self.internal:
            return str(self.ctx.node.etc) + "/"
        dst = self.conf.get("dst")
        if not dst:
            raise DriverError(f"dst is not set in {self.res.rid}")
        return str(dst)

    def options(self) -> list[str]:
        extra = INTERNAL_OPTIONS if self.internal else []
        bwlimit = self.conf.get("bwlimit") or (self.ctx.spec.default.get("bwlimit") if self.ctx.spec else None)
        if bwlimit:     # KB/s; the resource's keyword takes precedence over DEFAULT's
            extra = [*extra, f"--bwlimit={int(bwlimit)}"]
        return DEFAULT_OPTIONS + extra + words(self.conf.get("options"))

    # --- stamps -----------------------------------------------------------------------------
    @property
    def stamp_dir(self) -> Path:
        return self.ctx.node.svc_var(self.ctx.svcname) / "sync" / self.res.rid

    def last_sync(self, node: str) -> float | None:
        try:
            return float((self.stamp_dir / node).read_text().strip())
        except (OSError, ValueError):
            return None

    def _stale(self, node, now) -> bool:
        last = self.last_sync(node)
        return last is None or now - last > self.max_delay

    def _stamp(self, peer):
        make_dirs(self.stamp_dir)
        tmp = self.stamp_dir / f".{peer}.tmp"
        tmp.write_text(f"{time.time():.3f}\n")
        os.replace(tmp, self.stamp_dir / peer)
        # `/./` anchors rsync -R: the peer gets var/<svc>/sync/<rid>/<peer>, dirs created
        svc_var = self.ctx.node.svc_var(self.ctx.svcname)
        src = f"{svc_var}/./sync/{self.res.rid}/{peer}"
        res = self.transport.rsync(self.ctx.run, peer, [src], str(svc_var) + "/", ["-R", "-t"],
                                   timeout=120, check=False)
        if res.rc != 0:
            self.ctx.log.warning(f"could not send the sync stamp to {peer} (rc {res.rc})")

    # --- status -----------------------------------------------------------------------------
    def status(self):
        peers = self.peers()
        if not peers:
            return "n/a", ["no destination nodes"]
        now = time.time()
        if self.ctx.service_avail not in (None, "up"):
            if self._stale(self.ctx.node.name, now):
                return "warn", ["passive node needs update"]
            return "up", []
        stale = [p for p in peers if self._stale(p, now)]
        if stale:
            return "down", [f"{', '.join(stale)} need update"]
        return "up", []

    # --- actions ----------------------------------------------------------------------------
    def _sync(self, target) -> list[str]:
        """Copy to the peers of `target` (None: every target); returns the peers reached."""
        if target and target not in self.targets:
            return []
        avail = self.ctx.service_avail
        if avail not in (None, "up") and not self.ctx.force:
            self.ctx.log.info("won't sync this resource for a service not up")
            return []
        peers = self.peers(target)
        if not peers:
            self.ctx.log.info("no destination nodes")
            return []
        sources, dst = self.sources(), self.destination()
        if not sources:
            self.ctx.log.info("nothing to sync")
            return []
        files = self.container_files()
        timeout = int(self.ctx.timeouts.sync or SYNC_TIMEOUT)
        failed = []
        dstfs = self.conf.get("dstfs")
        for peer in peers:
            try:
                if dstfs and not self.transport.is_mountpoint(self.ctx.run, peer, dstfs):
                    # an unmounted destination would fill its parent filesystem (often /)
                    raise DriverError(f"the destination fs {dstfs} is not mounted on node {peer}: refuse to "
                                      f"sync {dst} to protect its parent fs; mount it there, then sync again")
                self.transport.rsync(self.ctx.run, peer, sources, dst, self.options(), timeout=timeout)
                if files:
                    self.transport.rsync_same_path(self.ctx.run, peer, files, self.options(), timeout=timeout)
            except DriverError as exc:
                failed.append(f"{peer}: {exc}")
                continue
            self._stamp(peer)
        if failed:
            raise DriverError("rsync failed to " + "; ".join(failed))
        return peers
