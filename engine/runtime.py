"""Wiring of one service on this node: its drivers, its loggers, its command runner."""

from drivers.base import Context


def driver_for(res, ctx):
    from drivers import driver_class

    cls = driver_class(res.family, res.type)
    return cls(res, ctx) if cls is not None else None


def build_drivers(node, spec, *, runners, loggers, opts=None, extra=None):
    """rid -> Driver for every resource of `spec` this node acts on (encap ones live in the guest).

    `runners(rid)` and `loggers(rid)` give each resource its own command runner and logger, so its
    commands are logged under SVC.RID and journaled with its rid."""
    drivers = {}
    for res in spec.resources:
        if res.encap:
            continue
        ctx = Context(
            node=node, svcname=spec.name, log=loggers(res.rid), run=runners(res.rid).run,
            dry_run=bool(getattr(opts, "dry_run", False)), force=bool(getattr(opts, "force", False)),
            cluster=bool(getattr(opts, "cluster", False)), spec=spec, extra=dict(extra or {}),
        )
        drivers[res.rid] = driver_for(res, ctx)
    return drivers
