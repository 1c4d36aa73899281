"""`import sh` without importlib.metadata, asyncio and inspect: what the runner's first command pays, ~45-65 ms less.

    from drivers._sh import import_sh      # (drivers.runner re-exports it)
    sh = import_sh()

sh 2.x asks importlib.metadata one question at import time, its own version
(`from importlib import metadata; __version__ = metadata.version("sh")`), and the real module
imports email, zipfile and csv to answer it (~25 ms of every action command here, measured).
While sh imports, `_VersionOnlyMetadata` stands in for importlib.metadata (in sys.modules and as
the `importlib.metadata` attribute) and answers that question from the dist-info's METADATA; any
other use steps it aside and loads the real module. Then it is gone: later importers get the real one.

The same way, and for the same reason (issue 19: `import sh` was most of an action's fixed cost), sh imports
`asyncio` (and ssl, socket, concurrent.futures with it: ~20-40 ms here) and `inspect` (~6 ms) at its top but
uses them only at run time: asyncio to ask `get_running_loop()` (is sh called from a coroutine?) and for
its `async for` iteration, inspect to look at output callbacks; `platform` it asks `system()` at import only.
While sh imports, core.lazy's stand-ins (LAZY) sit in for each one that nothing loaded yet: sh keeps the
stand-in as its global, which loads the real module on the first attribute it is asked (then it is an
ordinary module). `get_running_loop()` is answered without asyncio while asyncio.events is not loaded: no
event loop can run without it, so there is none (RuntimeError, as asyncio says), which is what every command
of the runner hears.

The swap is process-wide, so the first import_sh must not run beside another thread that may
import importlib.metadata, asyncio or inspect: engine.probe calls it before it starts its probe threads.
sh is pinned `<3` (setup.cfg); tests/drivers/test_drivers_sh.py fails when sh asks anything else, or nothing,
and when `import sh` loads asyncio or inspect again.
"""

import os
import sys
import types

from core.lazy import LazyModule, importing

# What the stand-in answered during the last swap (tests/drivers/test_drivers_sh.py reads it).
answered = []


class _VersionOnlyMetadata(types.ModuleType):
    """Stands in for importlib.metadata while sh imports (see the module docstring)."""

    class PackageNotFoundError(ModuleNotFoundError):
        pass

    def version(self, name):
        import glob

        for entry in sys.path:
            for meta in glob.glob(os.path.join(entry or ".", f"{name}-*.dist-info", "METADATA")):
                with open(meta, encoding="utf-8") as fh:
                    for line in fh:
                        if line.startswith("Version:"):
                            answered.append(name)
                            return line.split(":", 1)[1].strip()
        raise self.PackageNotFoundError(name)

    def __getattr__(self, attr):
        _step_aside(self)
        import importlib.metadata

        return getattr(importlib.metadata, attr)


def _step_aside(stub):
    import importlib

    if sys.modules.get("importlib.metadata") is stub:
        del sys.modules["importlib.metadata"]
    if getattr(importlib, "metadata", None) is stub:
        del importlib.metadata


class _LazyAsyncio(LazyModule):
    """asyncio's stand-in: `get_running_loop()` answered without loading it while no loop can exist."""

    def get_running_loop(self):
        events = sys.modules.get("asyncio.events")
        if events is None:
            raise RuntimeError("no running event loop")
        return events.get_running_loop()

    def Queue(self, *args, **kwargs):   # sh binds `from asyncio import Queue as AQueue` at import
        import asyncio

        return asyncio.Queue(*args, **kwargs)


class _LazyPlatform(LazyModule):
    """platform's stand-in: sh asks `platform.system()` twice at import (Windows? macOS?), nothing else; the real
    module compiles 9 regexes on import (2-5 ms of every action here). Linux's answer is uname's, as platform's."""

    def system(self):
        return os.uname().sysname


LAZY = {"asyncio": _LazyAsyncio, "inspect": LazyModule, "platform": _LazyPlatform}


def import_sh():
    """`import sh`, with importlib.metadata, asyncio, inspect and platform stood in for when nothing loaded them yet."""
    if "sh" in sys.modules:
        import sh

        return sh
    import importlib

    stub = None
    if "importlib.metadata" not in sys.modules:
        stub = _VersionOnlyMetadata("importlib.metadata")
        sys.modules["importlib.metadata"] = importlib.metadata = stub
    try:
        with importing(LAZY):
            import sh
    finally:
        if stub is not None:
            _step_aside(stub)
    return sh
