"""Build a driver with a real Runner whose log lines and command events are captured."""

import logging

from drivers.registry import ServiceDrivers, driver_for
from drivers.base import Context
from drivers.runner import Runner
from domain.service import ResourceSpec


class LineLog(logging.Logger):
    """A logger that keeps (level, message) pairs: assertions compare exact 1.5 log lines."""

    def __init__(self, name="TEST"):
        super().__init__(name, logging.DEBUG)
        self.lines = []

    def handle(self, record):
        self.lines.append((record.levelname, record.getMessage()))

    def messages(self, level=None):
        return [m for lvl, m in self.lines if level is None or lvl == level]


def make_driver(node, family, type="", conf=None, rid=None, tags=(), svc="svc1", spec=None,
                force=False, shared=None, **context):
    """(driver, log, events) for a resource of this family/type on `node`. `context`: Context fields
    (clock, sleep, transport, timeouts, instance_avail...); `shared`: rid -> driver that
    `ctx.driver_of` returns before building one from `spec`."""
    log = LineLog(f"{svc.upper()}.{(rid or family + '#1').upper()}")
    events = []
    runner = Runner(log=log, sink=events.append)
    res = ResourceSpec(rid=rid or f"{family}#1", family=family, type=type, conf=dict(conf or {}),
                       tags=frozenset(tags))
    ctx = Context(node=node, svcname=svc, log=log, run=runner.run, spec=spec, force=force,
                  peers=ServiceDrivers(spec, shared), **context)
    return driver_for(res, ctx), log, events
