"""Run calls in forked children at once and collect what each returns (parallel subsets).

    results = forked.run([call_a, call_b])    # [value of call_a(), value of call_b()], in order

Each call runs in its own child, forked from this process, so it starts from this process's state
(the executor's models and drivers) and leaves it untouched. A call returns a marshal-able value
(a dict of str, int, None...); an exception in it, or the child dying, becomes
{"error": "..."}. The child leaves with os._exit: no finalizer runs on what it inherited (an
SQLite connection must not be used, or closed, across a fork).
"""

import marshal
import os
import select
import signal


FORK_SAFE = "osvc_fork_safe"    # set on a thread whose state a forked child resets (os.register_at_fork)


def alone() -> bool:
    """Is forking safe: no thread but the main one, those marked FORK_SAFE and cancelled timers (another thread
    could hold a lock the child would wait on forever)? sh starts a 2 s threading.Timer in every command's
    wait and cancels it: it is still ending for a moment after the command, and holds nothing a child uses."""
    import threading

    return all(t is threading.main_thread() or getattr(t, FORK_SAFE, False)
               or (isinstance(t, threading.Timer) and t.finished.is_set()) for t in threading.enumerate())


def run(calls):
    from core import interrupts

    mark = interrupts.watch()
    children = []
    try:
        for call in calls:
            children.append(_start(call))
    finally:
        results = _collect(children)   # a failed fork still reaps the children already started
    interrupts.reraise(mark)           # a Ctrl-C an at-fork hook dropped (core/interrupts.py), once all are reaped
    return results


def _start(call):
    rfd, wfd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(rfd)
        os.close(wfd)
        raise
    if pid == 0:
        os.close(rfd)
        _child(call, wfd)
    os.close(wfd)
    return pid, rfd


def _collect(children):
    data = {rfd: bytearray() for _, rfd in children}
    open_fds = set(data)
    while open_fds:
        for fd in select.select(list(open_fds), [], [])[0]:
            chunk = os.read(fd, 65536)
            if chunk:
                data[fd] += chunk
            else:
                open_fds.discard(fd)
                os.close(fd)
    return [_result(pid, bytes(data[rfd])) for pid, rfd in children]


def _child(call, wfd):
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            value = call()
        except BaseException as exc:
            value = {"error": str(exc) or repr(exc)}
        payload = marshal.dumps(value)
        view = memoryview(payload)
        while view:
            view = view[os.write(wfd, view):]
        code = 0
    finally:
        os._exit(code)


def _result(pid, payload):
    _, status = os.waitpid(pid, 0)
    if payload and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return marshal.loads(payload)
    how = (f"was killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
           else f"exited with status {os.waitstatus_to_exitcode(status)}")
    return {"error": f"child process {pid} {how} before it reported"}
