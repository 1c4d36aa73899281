"""A service as the journal tells it at any point: the newest sound snapshot, then the fold after it.

    view = replay_service(journal, "web1", seq=1234)    # or at="2026-11-21 03:12", or now
    render(view.document())                             # the `print status` tree as it stood then
"""

from engine.history.fold import ServiceView, fold


def seq_at(journal, at) -> int:
    """The last seq written at or before `at` (epoch ns, or a TIME string: ISO, epoch, age)."""
    if isinstance(at, str):
        from journal.timespec import parse_time_ns

        at = parse_time_ns(at)
    row = journal.connection.execute("SELECT max(seq) FROM events WHERE ts <= ?", (int(at),)).fetchone()
    return row[0] or 0


def replay_service(journal, svc, at=None, seq=None, snapshots=True) -> ServiceView:
    """The service as the journal tells it at `seq` (or at time `at`, or now): from the newest valid
    snapshot at or before that point when `snapshots`, then the service's records after it.
    A snapshot that fails its check is skipped with a warning in `view.warnings` (full fold)."""
    target = seq
    if target is None and at is not None:
        target = seq_at(journal, at)
    view, warnings = None, []
    if snapshots:
        from engine.history import snapshots as snap

        view, warnings = snap.load(journal, svc, target)
    start = view.seq if view is not None else 0
    if view is None:
        view = ServiceView(svc)
    if target is not None and target <= start:
        view.warnings = warnings
        return view
    fold(journal.scan(svc=svc, seq_after=start, seq_max=target), svc, {svc: view})
    view.warnings = warnings
    return view
