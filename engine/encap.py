"""Encapsulation, the host's side (docs/encapsulation-and-cluster.md §1): the engine inside each running
container of the service acts on the encap resources; the host reaches it through the container's
runmethod (`lxc-attach -n vm1 --`, ssh, `zlogin -S`...).

    master, containers, why = halves(spec, request)     # which halves of the action run (--master/--slave)
    guest = Guest(node, spec, container_res, container_drv)
    result = guest.run(runner.run, ["start"], request=request, env=session.child_env())

Every guest command runs with an explicit, clean environment, `env -i PATH=... OSVC_ACTION_ID=...`:
ssh forwards nothing and lxc-attach forwards everything (the host's OSVC_ROOT would leak in). The
guest engine's path and PATH come from etc/node.conf `[container] guest_engine` and `guest_path`.
"""

import json
import os

from core.errors import UsageError
from drivers.base import DriverError

# The actions that run both halves without being told (b1.8:lib/svc.py:294-306 ACTIONS_DO_MASTER_AND_SLAVE);
# any other resource action of a service with encap resources needs --master, --slave(s) or a scope.
DO_MASTER_AND_SLAVE = frozenset(("boot", "migrate", "prstart", "prstop", "restart", "shutdown", "start",
                                 "startstandby", "stop", "stopstandby", "switch"))

DEFAULT_ENGINE = "osvc-engine"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ACTION_TIMEOUT = 600.0     # a guest's start runs its own resources' timeouts; this bounds the whole
QUERY_TIMEOUT = 30.0       # status, config mtime: the guest answers from its cache
FORWARDED_FLAGS = (("dry_run", "--dry-run"), ("force", "--force"), ("disable_rollback", "--disable-rollback"))
FORWARDED_VALUES = (("rid", "--rid"), ("tags", "--tags"), ("subsets", "--subsets"))   # never --cluster

# What a runmethod prints when the container does not run (lxc-attach, vzctl, zlogin).
NOT_RUNNING = ("Failed to get init pid", "is not running", "not running")


class Unjoinable(DriverError):
    """The guest engine cannot be reached: container not running, engine missing, transport down."""


def step_rid(container_rid: str) -> str:
    """The rid of a container's encap step in the journal and the states (`encap:container#1`)."""
    return f"encap:{container_rid}"


def containers(spec) -> list:
    """The host's containers whose guest engine has encap resources to drive (none in a guest)."""
    if spec.guest:
        return []
    return [r for r in spec.resources if r.family == "container" and not r.in_guest and not r.disabled
            and spec.guest_resources(r.rid)]


def halves(spec, request, selected=None):
    """(master, container rids, note) for an action of a service with encap resources: whether the
    host part runs, on which containers the guest part runs, and why it does not (b1.8 _slave_action /
    _master_action, docs/encapsulation-and-cluster.md §1.3). `selected`: the resources --rid/--tags/
    --subsets select (None: not scoped). Raises UsageError for a sub-action that needs a specifier."""
    guests = containers(spec)
    if not guests:
        return True, [], ""
    told = request.master or bool(request.slave) or request.slaves
    if not told and selected is None and request.action not in DO_MASTER_AND_SLAVE:
        raise UsageError(f"specify either --master, --slave(s) or both ({request.action})")
    master = request.master or not (request.slave or request.slaves)
    if told and not (request.slave or request.slaves):
        return master, [], ""
    if request.slave:
        wanted = [w.strip() for w in request.slave.split(",") if w.strip()]
        names = {str(r.conf.get("name") or spec.name): r.rid for r in guests}
        unknown = [w for w in wanted if w not in names and w not in names.values()]
        if unknown:
            raise UsageError(f"--slave {','.join(unknown)}: not a container of {spec.name} with encap resources "
                             f"(containers: {', '.join(f'{n} ({rid})' for n, rid in names.items())})")
        guests = [r for r in guests if r.rid in wanted or str(r.conf.get("name") or spec.name) in wanted]
    if selected is not None and not any(r.in_guest for r in selected):
        return master, [], "skip action on slaves: no encap resources are selected"
    return master, [r.rid for r in guests], ""


def starts_on_boot(spec, container_name) -> bool:
    """The guest's service is started by the guest's own boot: `autostart_node` (scoped @<container>, then
    @encapnodes, then plain) names the container or `encapnodes`, as written in the file
    (b1.8:lib/svc.py:2343-2356 need_start_encap). Then a host's start leaves it to the guest."""
    from config.ini import parse

    options = parse(spec.text).sections["DEFAULT"].options
    for key in (f"autostart_node@{container_name}", "autostart_node@encapnodes", "autostart_node"):
        if key in options:
            return options[key].value.strip() in (container_name, "encapnodes")
    return False


def forwarded(request) -> list:
    """The host command's options the guest command repeats (b1.8:lib/svc.py:1939-1955)."""
    out = [flag for field, flag in FORWARDED_FLAGS if getattr(request, field, False)]
    for field, flag in FORWARDED_VALUES:
        value = getattr(request, field, None)
        if value:
            out += [flag, value]
    return out


class Guest:
    """One container's guest engine. `drv` is the container's driver (its runmethod, its up test)."""

    def __init__(self, node, spec, res, drv):
        self.node, self.spec, self.res, self.drv = node, spec, res, drv
        self.rid = res.rid
        self.name = drv.name
        self.engine = str(node.setting("container", "guest_engine", DEFAULT_ENGINE))
        self.path = str(node.setting("container", "guest_path", DEFAULT_PATH))
        self.timeout = float(node.setting("container", "guest_timeout", ACTION_TIMEOUT))

    def argv(self, words, request=None, env=None) -> list:
        """The full command line: runmethod, clean environment, engine, service, options, words."""
        from drivers.peer import guest_words

        variables = [f"PATH={self.path}", *(f"{k}={v}" for k, v in (env or {}).items())]
        return guest_words(self.drv.runmethod(), ["env", "-i", *variables, self.engine, "-s", self.spec.name,
                                                  *(forwarded(request) if request is not None else []), *words])

    def run(self, run, words, *, request=None, env=None, timeout=None, input=None, quiet=False):
        """The guest engine's Result (never raises for its rc; raises Unjoinable when it cannot be joined)."""
        result = run(self.argv(words, request, env), timeout=timeout or self.timeout, check=False, input=input,
                     quiet=quiet)
        problem = self.unjoinable(result)
        if problem:
            raise Unjoinable(problem)
        return result

    def unjoinable(self, result) -> str:
        """Why the guest engine could not be reached, from the runmethod's result ('' when it was)."""
        if result.rc == 127:
            return (f"cannot join the guest engine of container {self.name}: '{self.engine}' not found in the "
                    f"guest (rc 127): install osvc-engine there, or set [container] guest_engine in etc/node.conf")
        if result.rc == 255 and self.drv.runmethod()[0].endswith("ssh"):
            return f"cannot join container {self.name} over ssh (rc 255): {_last(result.err)}"
        if result.rc != 0 and any(m in result.err for m in NOT_RUNNING):
            return f"cannot join container {self.name}: it is not running ({_last(result.err)})"
        return ""

    def peer(self):
        """This guest as a cluster peer (drivers.peer.GuestPeer): `journal pull` mirrors its journal."""
        from drivers.peer import GuestPeer

        return GuestPeer(self.node_name(), self.drv.runmethod(), self.engine, self.path)

    def node_name(self) -> str:
        """The guest engine's node name, the one its records carry: the container's hostname (default:
        its name) when it is an encapnode, else the service's only encapnode (a vz CTID names no host)."""
        encapnodes = self.spec.default.get("encapnodes") or []
        if self.drv.hostname not in encapnodes and len(encapnodes) == 1 and len(containers(self.spec)) == 1:
            return encapnodes[0]
        return self.drv.hostname

    def is_up(self) -> bool:
        try:
            return bool(self.drv.is_up())
        except DriverError:
            return False

    # --- the env file, newest wins (docs/encapsulation-and-cluster.md §1.6) -----------------------
    def pushed_path(self):
        return self.node.svc_var(self.spec.name) / "encap" / f"{self.rid}.pushed"

    def push_if_changed(self, run, log, session):
        """Before a guest command: push when the host's env file changed since the last push here."""
        try:
            last = self.pushed_path().read_text().strip()
        except OSError:
            last = ""
        if last != str(int(env_mtime(self.node, self.spec.name))):
            self.push(run, log, session)

    def push(self, run, log, session):
        """Reconcile the env file with the guest's copy, in whole seconds: a newer guest copy is fetched
        and the host's takes its mtime; an older or missing one is replaced, keeping the host's mtime.
        Each transfer is journaled (`encap fetch`, `encap send`). Returns 'fetched', 'sent' or 'equal'."""
        from core.files import write_atomic

        path = self.node.env_file(self.spec.name)
        host_mtime = env_mtime(self.node, self.spec.name)
        answer = self.run(run, ["print", "config", "mtime"], timeout=QUERY_TIMEOUT)
        try:
            guest_mtime = float(answer.out.strip()) if answer.rc == 0 else None
        except ValueError:
            guest_mtime = None
        payload = {"file": str(path), "container": self.name}
        if guest_mtime is not None and int(guest_mtime) > int(host_mtime):
            text = self.run(run, ["print", "config"], timeout=QUERY_TIMEOUT)
            if text.rc != 0:
                raise DriverError(f"failed to fetch {path} from {self.name}: rc {text.rc}: {_last(text.err)}")
            from config.edit import write_env

            write_env(self.node, self.spec.name, text.out)
            os.utime(path, (guest_mtime, guest_mtime))
            log.info(f"fetch {path} from {self.name}")
            outcome = "fetched"
            session.record("encap", "fetch", rid=step_rid(self.rid), payload={**payload, "mtime": guest_mtime})
        elif guest_mtime is not None and int(guest_mtime) == int(host_mtime):
            outcome = "equal"
        else:
            sent = self.run(run, ["create", "--config", "-", "--force", "--mtime", repr(host_mtime)],
                            timeout=QUERY_TIMEOUT, input=path.read_text())
            if sent.rc != 0:
                raise DriverError(f"failed to send {path} to {self.name}: rc {sent.rc}: {_last(sent.err)}")
            log.info(f"send {path} to {self.name}")
            outcome = "sent"
            session.record("encap", "send", rid=step_rid(self.rid), payload={**payload, "mtime": host_mtime})
        write_atomic(self.pushed_path(), f"{int(env_mtime(self.node, self.spec.name))}\n")
        return outcome

    # --- status ---------------------------------------------------------------------------------
    def cache_path(self):
        return self.node.svc_var(self.spec.name) / "encap" / f"{self.rid}.json"

    def cached(self):
        try:
            return json.loads(self.cache_path().read_text())
        except (OSError, ValueError):
            return None

    def status(self, container_status, refresh=False):
        """The guest's status document as the host folds it (docs/encapsulation-and-cluster.md §1.4):
        forged down when the container is down, all n/a when the guest cannot answer, else the
        guest's own `print status --format json` (cached per container)."""
        from domain import status as st

        encap_rows = [self._row(r) for r in self.spec.guest_resources(self.rid)]
        if container_status not in ("up", "stdby up"):
            return st.forge_encap_down(self.cached() or encap_rows)
        words = ["print", "status", "--format", "json", *(["--refresh"] if refresh else [])]
        try:
            result = self.run(self.drv.ctx.run, words, timeout=QUERY_TIMEOUT, quiet=True)
            doc = json.loads(result.out) if result.ok else None
        except (DriverError, ValueError):
            doc = None
        if not isinstance(doc, dict) or "resources" not in doc:
            return st.forge_encap_unknown(self.cached() or encap_rows)
        from core.files import write_atomic

        try:
            write_atomic(self.cache_path(), json.dumps(doc, indent=1))
        except OSError:
            pass      # the cache only keeps labels for a later forged document
        return doc

    def _row(self, res):
        from domain.families import status_type

        return {"rid": res.rid, "type": status_type(res.family, res.type),
                "status": "n/a", "label": str(res.conf.get("label") or res.rid), "encap": True,
                "tags": sorted(res.tags), "optional": res.optional, "monitor": res.monitor}


def guest_documents(node, spec, drivers, values, refresh=False) -> dict | None:
    """{container name: guest document} for the status of a host (None when the service has no guest)."""
    guests = containers(spec)
    if not guests:
        return None
    docs = {}
    for res in guests:
        drv = drivers.get(res.rid)
        if drv is None:
            continue
        guest = Guest(node, spec, res, drv)
        docs[guest.name] = guest.status(values[res.rid][0], refresh=refresh)
    return docs


def guest_peers(node, svcs=None, log=None) -> list:
    """The running guests of the services (every service here when None) as cluster peers, for
    `journal pull`: their journals are mirrored like a node's. A service that cannot be read is skipped."""
    from config.build import load_service
    from core.errors import ConfigError, NotFound
    from engine.session import probe_drivers

    peers = []
    for svc in (svcs or node.services()):
        try:
            spec = load_service(node, svc)
        except (ConfigError, NotFound) as exc:
            if log is not None:
                log.warning(f"{svc}: {exc}: its guests are not pulled")
            continue
        guests = containers(spec)
        if not guests:
            continue
        drivers = probe_drivers(node, spec)
        for res in guests:
            guest = Guest(node, spec, res, drivers[res.rid])
            if guest.is_up() and guest.peer().name not in {p.name for p in peers}:
                peers.append(guest.peer())
    return peers


def _last(text: str) -> str:
    lines = [x for x in (text or "").splitlines() if x.strip()]
    return lines[-1].strip() if lines else "no output"


def env_mtime(node, svc) -> float:
    return os.stat(node.env_file(svc)).st_mtime
