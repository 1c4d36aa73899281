"""The one command runner every driver uses (docs/design.md §8, docs/lessons.md §A.13).

    runner = Runner(log=resource_logger, sink=journal_command_event)
    res = runner.run(["mount", "-t", "ext4", dev, mnt], timeout=60)

- argument lists only, never a shell;
- every command runs in a new session, so on timeout the whole process group (the command and
  its grandchildren) gets SIGKILL; sh's own `_timeout` would signal the leader only, and the
  grandchildren would keep our pipes open;
- the command line is logged at INFO with each `mask` string replaced by XXXXXX, then its output
  the way the 1.5 agent logs it (`output:`, `stderr:`, `command succesful but stderr:`,
  `command failed with stdout:`), and `sink` receives a `command` event (masked argv, rc, duration,
  output tails, pid, timeout) the lead journals;
- `quiet=True` is for status probes: no log, no event (the status read path stays cheap);
- `sh` is imported on the first run only: it costs ~80 ms, and `print status` must not pay it.
  And it is imported without `importlib.metadata` (drivers/_sh.py `import_sh`, re-exported here).

Output capture: pipes by default. A command that leaves a daemon holding the pipe costs an extra
2 s (sh waits that long for the reader threads): callers running launchers pass `out_path`, so the
command's stdout and stderr go to a file (fd passed straight to the child, no pipe, nothing to wait
for) and the runner reads the file back afterwards.
"""

import os
import signal
import threading
import time

from core import interrupts
from core.errors import OsvcError
from core.forked import FORK_SAFE
from core.files import open_nofollow
from core.log import MULTILINE
from core.record import Record
from drivers._sh import import_sh
from drivers.base import DriverError

TAIL_BYTES = 2048          # output tail kept in the journal event, per stream
FILE_READ_BYTES = 65536    # at most this much of an out_path file is read back (its end)
MASK = "XXXXXX"


class CommandError(DriverError):
    """The command exited non-zero (check=True)."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


class CommandTimeout(DriverError):
    """The command outlived its timeout: its process group was killed."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


class Result(Record):
    argv: list
    rc: int
    out: str = ""
    err: str = ""
    duration: float = 0.0
    pid: int | None = None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.timed_out


class _NullLog:
    def info(self, *a, **k): pass
    def warning(self, *a, **k): pass
    def error(self, *a, **k): pass
    def debug(self, *a, **k): pass


def mask_text(text: str, mask) -> str:
    """Replace every secret of `mask` in `text` with XXXXXX."""
    for secret in mask:
        if secret:
            text = text.replace(secret, MASK)
    return text


def cmdline(argv, mask=()) -> str:
    """The command line as the 1.5 agent logs it: words joined by spaces, secrets masked."""
    return mask_text(" ".join(str(a) for a in argv), mask)


def tail(text: str, size: int = TAIL_BYTES) -> str:
    return text[-size:] if len(text) > size else text


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


# how each stream is logged, by (stream, outcome): level name and prefix (1.5 rcUtilities.call)
_OUTPUT_LOG = {
    ("out", "ok"): ("info", "output:\n"),
    ("out", "failed"): ("error", "command failed with stdout:\n"),
    ("out", "tolerated"): ("info", "output:\n"),
    ("err", "ok"): ("warning", "command succesful but stderr:\n"),
    ("err", "failed"): ("error", "stderr:\n"),
    ("err", "tolerated"): ("info", "stderr:\n"),
}


class Runner:
    """Runs commands for drivers; see the module docstring."""

    # (name, PATH) -> sh.Command: resolved once per process, reused (lessons A.13). Shared: the engine makes a
    # Runner per resource, and each one resolving its own costs ~0.1 ms a command
    _commands = {}

    def __init__(self, log=None, sink=None):
        self.log = log or _NullLog()
        self.sink = sink

    # --- public -------------------------------------------------------------------------
    def run(self, argv, timeout=60, check=True, mask=(), input=None, cwd=None, env=None,
            quiet=False, out_path=None, shown=None) -> Result:
        """Run `argv` (a list, never a shell line) and return its Result.

        timeout: seconds (required, never infinite); check: raise CommandError on rc != 0;
        mask: secrets to hide from logs and events; input: str/bytes fed to stdin (else /dev/null);
        env: variables added to os.environ; quiet: status probe (no log, no event);
        out_path: send stdout+stderr to this file (truncated) instead of pipes (launchers);
        shown: the words the log and the messages show instead of argv, where the agent logged a command
        without some of its arguments (hb.ovm's `-S";"`); the journal's record keeps the exact argv.
        """
        argv = [str(a) for a in argv]
        if not argv:
            raise DriverError("empty command line (nothing to run)")
        if timeout is None or timeout <= 0:
            raise DriverError(f"{argv[0]}: a positive timeout is required")
        line = cmdline(argv if shown is None else shown, mask)
        if not quiet:
            self.log.info(line)
        full_env = {**os.environ, **(env or {})}
        command = self._command(argv[0], full_env.get("PATH", ""))
        result = self._spawn(command, argv, timeout, input, cwd, full_env, out_path)
        outcome = "ok" if result.ok else ("failed" if check or result.timed_out else "tolerated")
        if not quiet:
            self._log_output(result, outcome, mask)
            self._emit(result, mask, outcome)
        if result.timed_out:
            raise CommandTimeout(f"{line} timed out after {timeout:g} s (process group killed)", result)
        if check and result.rc != 0:
            detail = _last_line(mask_text(result.err, mask)) or _last_line(mask_text(result.out, mask))
            raise CommandError(f"{line} failed (rc {result.rc})" + (f": {detail}" if detail else ""),
                               result)
        return result

    # --- internals ----------------------------------------------------------------------
    def _command(self, name, path):
        key = (name, path)
        command = self._commands.get(key)
        if command is None:
            import logging

            sh = import_sh()   # lazy: paid by actions only

            # sh logs every spawn at INFO on its own logger: we log the command line ourselves. Once: setLevel
            # clears every logger's cache
            quiet = logging.getLogger("sh")
            if quiet.level != logging.WARNING:
                quiet.setLevel(logging.WARNING)

            try:
                command = sh.Command(name, search_paths=path.split(os.pathsep) if "/" not in name
                                     else None)
            except sh.CommandNotFound:
                raise DriverError(f"{name}: command not found (install {os.path.basename(name)} "
                                  f"or check PATH)") from None
            self._commands[key] = command
        return command

    def _spawn(self, command, argv, timeout, input, cwd, env, out_path):
        outfile = _open_out(out_path) if out_path else None
        stdin = open(os.devnull, "rb") if input is None else input
        kwargs = dict(_bg=True, _bg_exc=False, _tty_out=False, _new_session=True, _env=env,
                      _cwd=cwd, _in=stdin, _ok_code=range(-64, 256))
        if outfile:
            kwargs.update(_out=outfile, _err=outfile)
        killed = threading.Event()
        start = time.monotonic()
        try:
            mark = interrupts.watch()
            proc = command(*argv[1:], **kwargs)
            pid = proc.pid
            interrupts.reraise(mark)     # a Ctrl-C during the fork, dropped by an at-fork hook (core/interrupts.py)
            deadline = _WATCHDOG.watch(start + timeout, self._kill_group, proc, pid, killed)
            try:
                proc.wait()
            finally:
                _WATCHDOG.cancel(deadline)
            rc = proc.exit_code
        except OSError as exc:   # exec failure after resolution (permissions, bad interpreter)
            raise DriverError(f"{argv[0]}: cannot execute: "
                              f"{_exec_failure(argv[0], exc.errno, exc.strerror or str(exc))}") from None
        except import_sh().ForkException as exc:   # the exec failed in sh's child: its traceback, as text
            raise DriverError(f"{argv[0]}: cannot execute: {_fork_failure(argv[0], str(exc))}") from None
        finally:
            if input is None:
                stdin.close()
            if outfile:
                outfile.close()
        duration = time.monotonic() - start
        if out_path:
            out, err = _read_end(out_path), ""
        else:
            out, err = _decode(proc.stdout), _decode(proc.stderr)
        if rc is not None and rc < 0:      # killed by a signal: shell convention 128+n
            rc = 128 - rc
        return Result(argv=argv, rc=rc if rc is not None else -1, out=out, err=err,
                      duration=duration, pid=pid, timed_out=killed.is_set())

    @staticmethod
    def _kill_group(proc, pid, killed):
        # new session: pgid == pid. Only while the leader is not reaped, so a recycled pid is safe.
        if proc.process.exit_code is not None:
            return
        killed.set()
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _log_output(self, result, outcome, mask):
        for stream, text in (("out", result.out), ("err", result.err)):
            text = mask_text(text, mask).rstrip("\n")
            if text:
                level, prefix = _OUTPUT_LOG[(stream, outcome)]
                # the output's line breaks are kept as lines in the log (core/log.py MULTILINE)
                getattr(self.log, level)(prefix + text, extra={MULTILINE: True})

    def _emit(self, result, mask, outcome="ok"):
        if self.sink is None:
            return
        payload = {
            "argv": [mask_text(a, mask) for a in result.argv],
            "rc": result.rc,
            "duration": round(result.duration, 6),
            "out_tail": tail(mask_text(result.out, mask)),
            "err_tail": tail(mask_text(result.err, mask)),
            "pid": result.pid,
            "timeout": result.timed_out,
        }
        if outcome != "ok":
            # a non-zero rc (or a timeout): did the runner go on (check=False) or raise?
            # postmortem/audit.py tolerated_rc and journal/lines.py read this key
            payload["tolerated"] = outcome == "tolerated"
        self.sink({"kind": "command", "payload": payload})


class _Watchdog:
    """Every command's deadline on one daemon thread (started on the first command, again after a fork), not
    a threading.Timer (a new thread) per command: sh already starts two threads per command, and a thread's
    start and join cost ~0.5-1 ms each on a busy 2-CPU machine (issue 19). At its deadline, `fn(*args)` runs
    on the watchdog's thread: Runner._kill_group, which kills the command's process group."""

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self):
        self._cond = threading.Condition(threading.Lock())
        self._heap = []            # [deadline, seq, fn, args], the earliest first; fn None once cancelled
        self._seq = 0
        self._thread = None

    def watch(self, deadline, fn, *args):
        """Call fn(*args) at `deadline` (time.monotonic) unless cancel()ed first; returns the entry to cancel."""
        import heapq

        with self._cond:
            self._seq += 1
            entry = [deadline, self._seq, fn, args]
            heapq.heappush(self._heap, entry)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="osvc command watchdog", daemon=True)
                # a forked child resets the watchdog (_reset): its lock is never inherited held
                setattr(self._thread, FORK_SAFE, True)
                self._thread.start()
            elif self._heap[0] is entry:
                self._cond.notify()
        return entry

    def cancel(self, entry):
        with self._cond:
            entry[2] = None        # the loop drops it when it reaches the top

    def _loop(self):
        import heapq

        cond, heap = self._cond, self._heap
        while True:
            with cond:
                while heap and heap[0][2] is None:
                    heapq.heappop(heap)
                if not heap:
                    cond.wait()
                    continue
                wait = heap[0][0] - time.monotonic()
                if wait > 0:
                    cond.wait(wait)
                    continue
                _, _, fn, args = heapq.heappop(heap)
            fn(*args)


_WATCHDOG = _Watchdog()


def _exec_failure(path, code, text) -> str:
    """Why exec failed (errno `code`, its `text`): for a script that exists but whose interpreter does not, that,
    in those words; else the system's text."""
    import errno

    if code == errno.ENOENT and os.path.exists(path):
        try:
            with open(path, "rb") as fh:
                first = fh.readline(256).decode("utf-8", "replace").strip()
        except OSError:
            first = ""
        if first.startswith("#!"):
            return f"its interpreter {first[2:].strip()} is not there ({text})"
    return text


def _fork_failure(path, traceback_text) -> str:
    """_exec_failure from the child's traceback sh hands back (`...Error: [Errno N] text: b'path'`)."""
    import re

    found = re.search(r"\[Errno (\d+)\] ([^:\n]+)", traceback_text)
    if found is None:
        lines = traceback_text.strip().splitlines()
        return lines[-1].strip() if lines else "exec failed"
    return _exec_failure(path, int(found.group(1)), found.group(2).strip())


def _decode(data) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)


def _open_out(path):
    """The launcher log (var/<svc>/app/<script>.<action>.log), truncated, never through a link (issue 17,
    item 3: a link planted there once had its target overwritten by the launcher's output)."""
    try:
        fd = open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, what="launcher log")
    except OsvcError as exc:
        raise DriverError(str(exc)) from None
    return os.fdopen(fd, "wb")


def _read_end(path) -> str:
    with os.fdopen(open_nofollow(path, os.O_RDONLY, what="launcher log"), "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - FILE_READ_BYTES))
        return f.read().decode("utf-8", "replace")
