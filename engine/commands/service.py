"""Service-wide flags: freeze, thaw, frozen. The flag file is the fast view; the journal records each change."""


def _journal_flag(node, svc, event, request):
    """The `config freeze|thaw` record: no action's (the inherited action id, or none)."""
    from engine.session import Session

    with Session(node, svc, request, mint=False) as session:
        session.record("config", event, payload=session.who())


def _set_frozen(node, svc, request, frozen):
    from core.files import make_dirs
    from engine.states import FROZEN_NAME, read_cache, write_cache

    flag = node.svc_var(svc) / FROZEN_NAME
    if flag.exists() == frozen:
        print(f"{svc}: already {'frozen' if frozen else 'thawed'}")
        return 0
    _journal_flag(node, svc, "freeze" if frozen else "thaw", request)   # journal first, then the effect
    if frozen:
        make_dirs(flag.parent)
        flag.touch()
    else:
        flag.unlink()
    doc = read_cache(node, svc, stale_ok=True)
    if doc is not None:      # the cached document shows the flag; its statuses stay (restart compares them)
        doc["frozen"] = frozen
        write_cache(node, svc, doc)
    print(f"{svc}: {'frozen' if frozen else 'thawed'}")
    return 0


def freeze(node, svc, request):
    return _set_frozen(node, svc, request, True)


def thaw(node, svc, request):
    return _set_frozen(node, svc, request, False)


def frozen(node, svc, request):
    """Exit 1 when frozen, 0 otherwise (1.8 agent semantics)."""
    from engine.states import is_frozen

    state = is_frozen(node, svc)
    print("frozen" if state else "thawed")
    return 1 if state else 0
