"""The files an action leaves in var/<svc>/: the status cache, the machine-state view and the frozen flag.

The cached document (`status.json`) is a derived view: `print status` serves it while it is newer than
the env file, `--refresh` and every state-changing action rebuild it (engine/probe.py).
"""

import json
from pathlib import Path

from core.files import write_atomic


CACHE_NAME = "status.json"


STATES_NAME = "states.json"


FROZEN_NAME = "frozen"


def cache_path(node, svc) -> Path:
    return node.svc_var(svc) / CACHE_NAME


def is_frozen(node, svc) -> bool:
    return (node.svc_var(svc) / FROZEN_NAME).exists()


def read_cache(node, svc, stale_ok=False):
    """The cached document if it is still valid (newer than the env file and launchers), else None.

    stale_ok: return it even when outdated (the previous status the restart policy compares with)."""
    path = cache_path(node, svc)
    try:
        cache_mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    for dep in () if stale_ok else (node.env_file(svc), node.launchers_dir(svc)):
        try:
            if dep.stat().st_mtime > cache_mtime:
                return None
        except FileNotFoundError:
            pass
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def load_states(node, svc) -> dict:
    """rid -> machine state, as the last action left them ('' key for the service machine)."""
    try:
        with open(node.svc_var(svc) / STATES_NAME) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def save_states(node, svc, states: dict):
    write_atomic(node.svc_var(svc) / STATES_NAME, json.dumps(states, sort_keys=True))


def write_cache(node, svc, doc):
    write_atomic(cache_path(node, svc), json.dumps(doc, indent=1))
