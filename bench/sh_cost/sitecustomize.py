"""A measurement device for issue 19: what the `sh` rule (docs/design.md §8) costs. Not a product path.

`python bench/cli.py --sh-cost` puts this folder on PYTHONPATH for a third side of every measure (and nothing
else does: neither the product nor its tests import it; tests/bench/test_sh_cost.py checks the device itself).
Python imports `sitecustomize` at start; this one imports nothing of the engine then (the cached `print status`
path never loads drivers.runner, and must not here either): it puts a finder on sys.meta_path that, once
`drivers.runner` has been executed, swaps `Runner._spawn` for `_spawn` below, the same contract on
`subprocess.Popen` instead of sh: argv list, new session, stdin /dev/null or the `input` bytes/str, cwd, env,
`out_path` (stdout+stderr to that file, opened and read back by drivers.runner's own _open_out/_read_end) or
pipes, the timeout through the runner's `_WATCHDOG` killing the process group, rc < 0 as 128+n, the same
Result, `DriverError("<cmd>: cannot execute: ...")` on OSError. With pipes, a command that leaves a process
holding them is given 2 s after it exits, as sh gives its reader threads.

`Runner._command` still runs first (sh imported, `sh.Command` resolved: "command not found" is unchanged);
this `_spawn` ignores that command. So the difference the bench prints is the spawn alone (sh's fork of the
whole interpreter, its Python code in the child before exec, its threads), not `import sh`.
"""

import sys

TARGET = "drivers.runner"
GRACE = 2.0        # seconds the pipes are read after the command exits (sh's _process_exit_cleanup timer)


def _spawn(self, command, argv, timeout, input, cwd, env, out_path):
    import subprocess
    import threading
    import time

    runner = sys.modules[TARGET]
    outfile = runner._open_out(out_path) if out_path else None
    data = input.encode() if isinstance(input, str) else input
    stdin = subprocess.DEVNULL if input is None else subprocess.PIPE
    out = subprocess.PIPE if outfile is None else outfile
    killed = threading.Event()
    start = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=out, cwd=cwd, env=env,
                                start_new_session=True)
        deadline = runner._WATCHDOG.watch(start + timeout, _kill_group, proc, killed)
        try:
            stdout, stderr = _communicate(proc, data)
        finally:
            runner._WATCHDOG.cancel(deadline)
    except OSError as exc:
        raise runner.DriverError(f"{argv[0]}: cannot execute: "
                                 f"{runner._exec_failure(argv[0], exc.errno, exc.strerror or str(exc))}") from None
    finally:
        if outfile:
            outfile.close()
    duration = time.monotonic() - start
    if out_path:
        text, err = runner._read_end(out_path), ""
    else:
        text, err = runner._decode(stdout), runner._decode(stderr)
    rc = proc.returncode
    if rc is not None and rc < 0:      # killed by a signal: shell convention 128+n
        rc = 128 - rc
    return runner.Result(argv=argv, rc=rc if rc is not None else -1, out=text, err=err,
                         duration=duration, pid=proc.pid, timed_out=killed.is_set())


def _communicate(proc, data):
    """(stdout, stderr) once the pipes close, or GRACE s after the command exits while something holds them."""
    import subprocess
    import time

    if proc.stdout is None:
        proc.communicate(data)
        return None, None
    grace_end = None
    while True:
        try:
            return proc.communicate(data, timeout=0.1 if grace_end is None else grace_end - time.monotonic())
        except subprocess.TimeoutExpired as exc:
            data = None                  # fed by the first call
            if grace_end is not None:    # the grace is over: what was read, the pipes closed
                proc.stdout.close()
                proc.stderr.close()
                return exc.output, exc.stderr
            if proc.poll() is not None:
                grace_end = time.monotonic() + GRACE


def _kill_group(proc, killed):
    # new session: pgid == pid. Only while the leader is not reaped, so a recycled pid is safe.
    import os
    import signal

    if proc.returncode is not None:
        return
    killed.set()
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class _SwapAfterExec:
    """sys.meta_path finder: the spec the other finders give for drivers.runner, its exec_module followed by
    the swap; then it leaves sys.meta_path."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != TARGET:
            return None
        for finder in sys.meta_path:
            if finder is cls or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is None or spec.loader is None:
                continue

            def exec_module(module, loader_exec=spec.loader.exec_module):
                loader_exec(module)
                module.Runner._spawn = _spawn          # looked up now: a test may have wrapped it
                if cls in sys.meta_path:
                    sys.meta_path.remove(cls)

            spec.loader.exec_module = exec_module
            return spec
        return None


if TARGET in sys.modules:        # imported late (a test): swap now
    sys.modules[TARGET].Runner._spawn = _spawn
else:
    sys.meta_path.insert(0, _SwapAfterExec)
