"""Resource triggers (docs/agent-reference.md §1.4, §5.4): commands a resource's config runs around its actions.

    [fs#1]
    pre_start = /usr/local/bin/check-san                 # a failure is logged, the start goes on
    blocking_pre_start = /usr/local/bin/fence {svcname}  # a failure fails the start
    post_stop@node2 = logger -t osvc fs#1 stopped

Around the driver's method: `pre_`, `blocking_pre_`, the method, `post_`, `blocking_post_`. A
resource start (start, startstandby, startfs...) runs the `start` triggers, a stop (stop,
shutdown, stopfs...) the `stop` ones, a sync its `sync_nodes`/`sync_drp` ones (sync_all: both).
A rollback runs none, as in the agent: a failing blocking_pre_stop must not keep a half-started
service up. A command goes through `/bin/sh -c` only when it holds `|`, `&&` or `;` (the agent's
rule), else it runs as its words; it sees OPENSVC_SVCNAME, OPENSVC_RID and OPENSVC_ACTION.
"""

import shlex

from drivers.base import DriverError

# Resource action -> the actions its trigger and requires keywords are named after (`pre_<action>`,
# `<action>_requires`); default: its own name. sync_all runs the sync_nodes and sync_drp ones.
KEYWORD_ACTIONS = {"sync_all": ("sync_nodes", "sync_drp")}
SHELL_MARKS = ("|", "&&", ";")
# The agent gives triggers no timeout; the command runner needs one. An hour stops a hung trigger
# from holding the service lock forever without cutting a slow legitimate one (a SAN check).
TIMEOUT = 3600


def planned(triggers, when, action):
    """(keyword, trigger action, command) of the `when` ('pre' or 'post') triggers of `action`,
    in the order they run."""
    for name in KEYWORD_ACTIONS.get(action, (action,)):
        for prefix in (f"{when}_", f"blocking_{when}_"):
            cmd = triggers.get(prefix + name)
            if cmd:
                yield prefix + name, name, cmd


def argv(cmd):
    """The command's argv: through the shell only when it needs one (a pipe, && or ;)."""
    if any(mark in cmd for mark in SHELL_MARKS):
        return ["/bin/sh", "-c", cmd]
    try:
        words = shlex.split(cmd)
    except ValueError as exc:
        raise DriverError(f"trigger {cmd!r} cannot be parsed ({exc}): fix its quoting in the env file") from None
    if not words:
        raise DriverError("empty trigger command: remove the keyword or give it a command")
    return words


def run(triggers, when, action, execute, log):
    """Run the `when` triggers of `action`: execute(keyword, trigger action, argv) -> runner Result.
    A failed `blocking_` trigger raises DriverError with the agent's message; any other failure
    is logged and the action goes on."""
    for keyword, name, cmd in planned(triggers, when, action):
        try:
            res = execute(keyword, name, argv(cmd))
            failure = None if res.ok else f"rc {res.rc}"
        except DriverError as exc:       # not found, not executable, timed out, bad quoting
            failure = str(exc)
        if failure is None:
            continue
        if keyword.startswith("blocking_"):
            log.error(f"{keyword}: {failure}")
            raise DriverError(f"{when} trigger {cmd} blocking error")
        log.warning(f"{keyword} failed ({failure}): not a blocking trigger, {action} goes on")
