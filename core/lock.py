"""The service action lock (docs/agent-reference.md §5.7): one flock per service, holder pid and intent recorded.

    with ServiceLock(node.lock_path(svc), "start", timeout=60):
        ...                                   # nobody else acts on svc meanwhile

flock semantics: the kernel drops the lock when the holder's file descriptor closes, including when
the process dies, so a crashed action never leaves the service locked. The file itself stays (removing
a flock'ed file lets two processes lock two different inodes); its content is the last holder's
{"pid": ..., "intent": ...}, cleared on a clean release.
"""

import fcntl
import json
import os
import threading
import time

from core.errors import LockTimeout, OsvcError
from core.files import disk_full, make_dirs, open_nofollow

# Locks this process holds: (real path, thread) -> [fd, depth]. A nested `with` on the same path in
# the same thread is a no-op (the reference's "re-locking from the owning pid"): an action calling a
# sub-action keeps its lock. Another thread of the process waits like another process would (flock
# locks an open file description: a second fd on the same file conflicts with the first).
_HELD = {}


def holder(path) -> dict | None:
    """The recorded holder {"pid": int, "intent": str} of the lock file, or None when none is recorded."""
    try:
        fd = open_nofollow(path, os.O_RDONLY, what="lock file")
    except (OSError, OsvcError):      # a link there is never read (nor quoted)
        return None
    try:
        with os.fdopen(fd, encoding="utf-8") as fh:
            text = fh.read(4096)
    except (OSError, ValueError):
        return None
    try:
        info = json.loads(text)
    except ValueError:
        return None
    return info if isinstance(info, dict) and "pid" in info else None


def _num(x):
    """Whole seconds print as integers, as in the reference's message (timeout 60, delay 1)."""
    return f"{x:g}" if isinstance(x, float) else str(x)


def timeout_message(path, intent, timeout, delay, info) -> str:
    """The reference's text, then what the operator can do about it."""
    pid = info.get("pid", "unknown") if info else "unknown"
    held_for = info.get("intent", "unknown") if info else "unknown"
    return (f"timed out waiting for lock (timeout {_num(timeout)}, delay {_num(delay)}, action {intent}, "
            f"lockfile {path}): holder pid {pid}, holder intent '{held_for}'. "
            f"Wait for that action to finish and retry (or give more time with --waitlock N); "
            f"if it looks stuck, check the holder with `ps -p {pid} -o pid,etime,args`")


class ServiceLock:
    def __init__(self, path, intent, timeout, delay=1.0):
        self.path = os.fspath(path)
        self.intent = intent
        self.timeout = max(0.0, float(timeout))
        self.delay = float(delay)
        self._keys = []           # one per acquire: the same object may be entered twice

    def _open(self):
        try:
            make_dirs(os.path.dirname(self.path) or ".")
            # O_CLOEXEC: commands the action runs must not inherit (and so prolong) the lock.
            # O_NOFOLLOW: a link planted at var/lock/<svc> is refused, its target never created nor truncated.
            return open_nofollow(self.path, os.O_CREAT | os.O_RDWR, 0o600, what="lock file")
        except OSError as exc:
            full = disk_full(exc, self.path)
            if full is not None:
                raise full from None
            raise OsvcError(f"can not create lock file {self.path}: {exc.strerror} "
                            f"(check the permissions of {os.path.dirname(self.path)})") from None

    def acquire(self):
        key = (os.path.realpath(self.path), threading.get_ident())
        held = _HELD.get(key)
        if held is not None:
            held[1] += 1
            self._keys.append(key)
            return self
        fd = self._open()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.delay <= 0:
                    os.close(fd)
                    raise LockTimeout(timeout_message(self.path, self.intent, self.timeout, self.delay,
                                                      holder(self.path))) from None
                time.sleep(min(self.delay, remaining))
        # Who holds it, for the next waiter's message. No fsync: the flock dies with the holder, and
        # after a crash the text only names a process that is gone (~2 ms saved on every action).
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "intent": self.intent}).encode(), 0)
        except OSError as exc:
            # A full var/ (issue 17, item 12): nothing is done yet, and the journal beside could not take the
            # action's begin either; one clear DiskFull (exit 6), the lock let go (closing releases the flock).
            os.close(fd)
            full = disk_full(exc, self.path)
            if full is None:
                raise
            raise full from None
        _HELD[key] = [fd, 1]
        self._keys.append(key)
        return self

    def release(self):
        if not self._keys:
            return
        key = self._keys.pop()
        held = _HELD[key]
        held[1] -= 1
        if held[1]:
            return
        del _HELD[key]
        fd = held[0]
        try:
            os.ftruncate(fd, 0)        # still ours: no stale holder shown to the next reader
        finally:
            os.close(fd)               # closing the fd releases the flock

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False

