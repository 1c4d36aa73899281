"""Causality across engines: what a caller hands the engine it launches on a peer node or in a guest.

One action, one id (docs/design.md §9): a remote or guest command carries the caller's action id and
a parent reference, the record that launched it (node, journal uuid, seq, hlc). The callee journals
its action under that id, records the parent in its begin payload and orders its records after the
parent's hlc; the caller orders its next records after the callee's last one when it returns. A
merged timeline sorted on (hlc, node, seq) is then causal even when the nodes' clocks disagree.

    env = child_env(action_id, Parent("hv1", journal.uuid, seq, hlc))   # {"OSVC_ACTION_ID": ..., "OSVC_PARENT": ...}
    parent = inherited_parent()                                         # in the callee: Parent or None

The variables travel in the callee's explicit environment (`env -i ... VAR=value cmd`: ssh forwards
nothing, lxc-attach everything), never through the caller's own.
"""

import os

from core.errors import UsageError
from core.record import Record

ACTION_ID_ENV = "OSVC_ACTION_ID"
PARENT_ENV = "OSVC_PARENT"
LAST_HLC_MARK = "osvc-last-hlc="   # the callee's last words on stderr: its journal's hlc when it ended


class Parent(Record, frozen=True):
    """The record that launched a remote or guest action."""

    node: str
    journal: str      # the caller journal's uuid
    seq: int
    hlc: int

    def encode(self) -> str:
        return f"{self.node},{self.journal},{self.seq},{self.hlc}"

    @classmethod
    def decode(cls, text: str) -> "Parent":
        parts = text.split(",")
        try:
            node, journal, seq, hlc = parts
            return cls(node, journal, int(seq), int(hlc))
        except ValueError:
            raise UsageError(f"{PARENT_ENV}={text!r} is not node,journal-uuid,seq,hlc") from None

    def as_payload(self) -> dict:
        return {"node": self.node, "journal": self.journal, "seq": self.seq, "hlc": self.hlc}


def child_env(action_id: str, parent: Parent | None) -> dict:
    """The variables a launched engine needs to act as part of this action."""
    env = {ACTION_ID_ENV: action_id} if action_id else {}
    if parent is not None:
        env[PARENT_ENV] = parent.encode()
    return env


def inherited_action_id() -> str:
    """The action this process acts for, when its caller said (OSVC_ACTION_ID), else ''."""
    return os.environ.get(ACTION_ID_ENV, "")


def inherited_parent() -> Parent | None:
    """The record that launched this process's action, when its caller said (OSVC_PARENT)."""
    text = os.environ.get(PARENT_ENV)
    return Parent.decode(text) if text else None


def last_hlc_of(text: str) -> int | None:
    """The callee's last hlc, from its output (the LAST_HLC_MARK line), or None."""
    for line in reversed(text.splitlines()):
        if line.startswith(LAST_HLC_MARK):
            try:
                return int(line[len(LAST_HLC_MARK):])
            except ValueError:
                return None
    return None
