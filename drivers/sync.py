"""What every sync driver shares (docs/agent-reference.md §5.7): a sync resource is never started or
stopped, the sync actions drive it, each through `_sync(target)` (target: `nodes`, `drpnodes`, or None
for every target of the resource), which returns the peers it reached."""

from drivers.base import Driver


class Sync(Driver):
    family = "sync"

    def start(self):
        """Sync resources are not started: the sync actions drive them."""

    def stop(self):
        """Nothing to stop."""

    def sync_nodes(self):
        return self._sync("nodes")

    def sync_drp(self):
        return self._sync("drpnodes")

    def sync_all(self):
        return self._sync(None)

    def _sync(self, target) -> list[str]:
        raise NotImplementedError
