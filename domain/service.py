"""The service model: what the config layer produces and the status, action and driver layers consume.

Everything here is plain data. Values in `conf` are already scoped for this node, with references
resolved and converted to their declared type (bool, int, list of words, str).
"""

from core.record import Record, factory
from pathlib import Path

from domain.families import CONFIG_ORDER

# Resource families, in the order the config builds them (docs/agent-reference.md §1.2; domain.families' config column).
FAMILIES = CONFIG_ORDER


class ResourceSpec(Record):
    rid: str                      # section name: ip#1, fs#1, vmdg, app, ovm (implicit container of mode = ovm)
    family: str                   # one of FAMILIES
    type: str = ""                # driver type: hpvm, kvm, loop, vg, rsync, ovm, ext4... ('' = native/default)
    conf: dict = factory(dict)   # keyword -> value as this node sees it
    tags: frozenset = frozenset()
    disabled: bool = False
    optional: bool = False
    monitor: bool = False
    restart: int = 0
    standby: bool = False         # always_on names this node: status reports stdby up/down
    encap: bool = False           # tagged encap: lives inside the container (the E flag, at both levels)
    in_guest: bool = False        # seen from a host: the guest engine's to act on and evaluate, never this one's
    subset: str | None = None
    requires: dict = factory(dict)   # action -> [(rid, (states...)), ...]
    triggers: dict = factory(dict)   # pre_start, blocking_post_stop... -> command string
    line: int | None = None       # line of the section header in the env file (None for implicit resources)

    @property
    def flags(self) -> str:
        """The 4-char MDOE column of print status."""
        return "".join(c if on else "." for c, on in
                       (("M", self.monitor), ("D", self.disabled), ("O", self.optional), ("E", self.encap)))


class ServiceSpec(Record):
    name: str
    nodename: str                 # the node this spec was evaluated for
    path: Path                    # the env file
    text: str                     # the env file's text
    digest: str                   # sha256 hex of text
    default: dict                 # DEFAULT keywords as this node sees them (nodes, drpnodes, encapnodes: lists)
    resources: list = factory(list)   # ResourceSpec, config order, encap ones included

    def resource(self, rid: str) -> ResourceSpec:
        for res in self.resources:
            if res.rid == rid:
                return res
        raise KeyError(rid)

    @property
    def guest(self) -> bool:
        """This node is one of the service's encapnodes: the engine inside a container."""
        return bool(self.default.get("encap"))

    def guest_resources(self, container_rid=None) -> list:
        """Seen from a host, the resources the guest engines drive (of one container, when given:
        an encap resource belongs to the container its `container_id` names, else to every one)."""
        return [r for r in self.resources if r.in_guest and not r.disabled
                and (container_rid is None or r.conf.get("container_id") in (None, "", container_rid))]

    @property
    def has_hb(self) -> bool:
        return any(r.family == "hb" and not r.disabled for r in self.resources)
