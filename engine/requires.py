"""Resource requirements (docs/agent-reference.md §1.9): `<action>_requires = ip#1 fs#1(up,stdby up)`.

Before a resource's action, each resource it requires must be in one of the listed states (default
`up` or `stdby up`) as its probe sees it then: resources earlier in the action's order have already
moved. `impossible` makes the action a no-op for the resource. A resource start is checked against
`start_requires`, a stop against `stop_requires`, a sync against its own (sync_all: both).
"""

from engine.triggers import KEYWORD_ACTIONS

IMPOSSIBLE = "impossible"


def of(requires, action):
    """The (rid, states) requirements of `action` from a resource's `requires` table."""
    return [req for name in KEYWORD_ACTIONS.get(action, (action,)) for req in requires.get(name, ())]


def impossible(requirements):
    return any(rid == IMPOSSIBLE for rid, _ in requirements)


def unmet(requirements, status_of):
    """The agent's message for the first requirement not met (status_of(rid) -> its status now), or None."""
    for rid, states in requirements:
        current = status_of(rid)
        if current not in states:
            return f"requires on resource {rid} in state {' or '.join(states)}, current state {current}"
    return None


def text(requirements):
    """The requirements as the keyword spells them: `app#1(up,stdby up) impossible`."""
    return " ".join(rid if rid == IMPOSSIBLE else f"{rid}({','.join(states)})" for rid, states in requirements)
