"""The driver seam (drivers/base.py): every capability the engine calls is declared on Driver with its
default, `supports` tells an implemented one from a default, Context has typed fields only, and
both transports answer `command()` in the same shape."""

import pytest

from domain.service import ResourceSpec, ServiceSpec
from drivers.base import Context, Driver, DriverError, NotSupported, Timeouts
from drivers.registry import DRIVERS, ServiceDrivers, build_drivers, driver_class
from drivers.transport import LocalTransport, SshTransport, Transport
from machines import defs


class Bare(Driver):
    family = "disk"

    def __init__(self, res, ctx, value="up"):
        super().__init__(res, ctx)
        self.value, self.calls = value, []

    def status(self):
        return self.value, []

    def start(self):
        self.calls.append("start")

    def stop(self):
        self.calls.append("stop")


def ctx(**fields):
    return Context(node=None, svcname="svc1", log=None, run=None, **fields)


def bare(value="up", **fields):
    return Bare(ResourceSpec(rid="disk#1", family="disk", type="x", conf={}), ctx(**fields), value)


def phase_table():
    """(kind, direction) -> the begin, waypoints, ok, failed triggers (STEPS, renamed PHASES)."""
    return getattr(defs, "PHASES", None) or defs.STEPS


# --- the capabilities the engine calls by name are all declared --------------------------------------
def test_every_waypoint_of_the_machine_tables_is_a_driver_phase_passing_at_once():
    waypoints = {w for row in phase_table().values() for w in row.waypoints}
    assert waypoints == {"wait_up", "wait_ping", "wait_operational", "wait_down"}
    drv = bare()
    for name in sorted(waypoints):
        assert getattr(drv, name)() is None
    assert drv.calls == []


def test_every_sync_action_and_hook_the_executor_dispatches_is_declared():
    from engine.executor import SYNC_ACTIONS, SYNC_HOOKS

    for name in (*SYNC_ACTIONS, *SYNC_HOOKS):
        assert callable(getattr(Driver, name)), name


def test_defaults_of_the_optional_capabilities():
    drv = bare("down")
    assert drv.is_up() is False and bare("up").is_up() is True
    drv.start_standby()
    assert drv.calls == ["start"]
    assert (drv.disklist(), drv.files_to_sync(), drv.presync(), drv.postsync()) == ([], [], None, None)
    for call in (drv.force_stop, drv.sync_nodes, drv.sync_drp, drv.sync_all, lambda: drv.migrate("node2")):
        with pytest.raises(NotSupported):
            call()
    assert issubclass(NotSupported, DriverError)
    assert drv.label() == "disk#1" and drv.can_rollback is False


def test_supports_tells_an_implementation_from_the_default():
    assert driver_class("container", "hpvm").supports("migrate")
    assert driver_class("container", "ovm").supports("migrate")
    assert not driver_class("container", "kvm").supports("migrate")
    assert driver_class("container", "srp").supports("presync") and driver_class("container", "srp").supports("postsync")
    assert not driver_class("container", "kvm").supports("presync")
    assert driver_class("app", "").supports("start_standby")
    assert driver_class("sync", "rsync").supports("sync_all")
    assert driver_class("container", "docker").supports("disklist")       # every container lists its disks
    assert driver_class("disk", "vmdg").supports("disklist")
    assert not driver_class("fs", "ext4").supports("disklist")
    with pytest.raises(AttributeError):
        Driver.supports("no_such_capability")


def test_every_registered_driver_implements_start_stop_and_status():
    for family, type_ in DRIVERS:
        cls = driver_class(family, type_ if type_ != "*" else "anything")
        assert issubclass(cls, Driver)
        for name in ("start", "stop", "status"):
            assert cls.supports(name), f"{cls.__name__}.{name}"


# --- Context: typed fields, no free-form dict -----------------------------------------------------------
def test_context_fields_and_defaults():
    import time

    c = ctx()
    assert (c.clock, c.sleep, c.transport, c.timeouts, c.peers, c.instance_avail, c.service_avail) == (
        time.monotonic, time.sleep, None, Timeouts(), None, None, None)
    with pytest.raises(TypeError):
        ctx(extra={"sleep": None})


def test_driver_of_needs_the_service_drivers():
    with pytest.raises(DriverError, match="built without the service's drivers"):
        ctx().driver_of("container#1")


def spec_of(*resources):
    return ServiceSpec(name="svc1", nodename="node1", path=None, text="", digest="", default={},
                       resources=list(resources))


def test_driver_of_gives_the_shared_instance_else_builds_one_on_the_askers_context():
    vm = ResourceSpec("container#1", "container", "kvm", {"name": "vm1"})
    odd = ResourceSpec("container#2", "container", "nosuch", {})
    spec = spec_of(vm, odd)
    built = ctx(spec=spec, peers=ServiceDrivers(spec))
    drv = built.driver_of("container#1")
    assert type(drv).__name__ == "Kvm" and drv.ctx is built and drv.name == "vm1"
    assert built.driver_of("container#2") is None
    with pytest.raises(KeyError):
        built.driver_of("container#9")
    fake = object()
    assert ctx(peers=ServiceDrivers(None, {"container#1": fake})).driver_of("container#1") is fake
    with pytest.raises(KeyError):
        ctx(peers=ServiceDrivers(None, {})).driver_of("container#1")


class Runner:
    def __init__(self):
        self.run = lambda *a, **k: None


def test_build_drivers_gives_every_driver_the_settings_and_shares_on_request(node):
    spec = spec_of(ResourceSpec("container#1", "container", "kvm", {"name": "vm1"}),
                   ResourceSpec("vmdg", "disk", "vmdg", {"container_id": "container#1"}))
    made = build_drivers(node, spec, runners=lambda rid: Runner(), loggers=lambda rid: None,
                         service_avail="down", timeouts=Timeouts(stat=1.0))
    assert {d.ctx.service_avail for d in made.values()} == {"down"}
    assert {d.ctx.timeouts.stat for d in made.values()} == {1.0}
    assert made["vmdg"].container() is not made["container#1"]          # not shared: its own instance
    shared = build_drivers(node, spec, runners=lambda rid: Runner(), loggers=lambda rid: None, share=True)
    assert shared["vmdg"].container() is shared["container#1"]
    with pytest.raises(TypeError):
        build_drivers(node, spec, runners=lambda rid: Runner(), loggers=lambda rid: None, extra={})


# --- transports: one declared shape ----------------------------------------------------------------
def test_both_transports_answer_command_as_argv_and_env(tmp_path):
    ssh, local = SshTransport(), LocalTransport({"node2": tmp_path}, engine=["/opt/osvc-engine"])
    assert isinstance(ssh, Transport) and isinstance(local, Transport)
    argv, env = ssh.command("node2", ["osvc-engine", "status"])
    assert argv[-2:] == ["node2", "osvc-engine status"] and env == {}
    argv, env = local.command("node2", ["osvc-engine", "status"])
    assert argv == ["/opt/osvc-engine", "status"]
    assert env == {"OSVC_ROOT": str(tmp_path), "OSVC_NODENAME": "node2"}


def test_transport_run_is_the_command_run_through_the_runner(tmp_path):
    calls = []

    def run(argv, **kw):
        calls.append((argv, kw))

    SshTransport().run(run, "node2", ["true"], timeout=5)
    LocalTransport({"node2": tmp_path}).run(run, "node2", ["true"], timeout=5, env={"A": "1"}, check=False)
    assert calls[0] == ([*SshTransport().ssh, "-n", "--", "node2", "true"], {"timeout": 5})
    assert calls[1] == (["true"], {"timeout": 5, "check": False,
                                   "env": {"A": "1", "OSVC_ROOT": str(tmp_path), "OSVC_NODENAME": "node2"}})
