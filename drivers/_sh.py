"""`import sh` without importlib.metadata: what the runner's first command pays, ~25 ms less.

    from drivers._sh import import_sh      # (drivers.runner re-exports it)
    sh = import_sh()

sh 2.x asks importlib.metadata one question at import time, its own version
(`from importlib import metadata; __version__ = metadata.version("sh")`), and the real module
imports email, zipfile and csv to answer it (~25 ms of every action command here, measured).
While sh imports, `_VersionOnlyMetadata` stands in for importlib.metadata (in sys.modules and as
the `importlib.metadata` attribute) and answers that question from the dist-info's METADATA; any
other use steps it aside and loads the real module. Then it is gone: later importers get the real one.

The swap is process-wide, so the first import_sh must not run beside another thread that may
import importlib.metadata: engine.probe calls it before it starts its probe threads. sh is pinned
`<3` (setup.cfg); tests/drivers/test_drivers_sh.py fails when sh asks anything else, or nothing.
"""

import os
import sys
import types

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


def import_sh():
    """`import sh`, with importlib.metadata stood in for when nothing loaded it yet."""
    if "sh" in sys.modules or "importlib.metadata" in sys.modules:
        import sh

        return sh
    import importlib

    stub = _VersionOnlyMetadata("importlib.metadata")
    sys.modules["importlib.metadata"] = importlib.metadata = stub
    try:
        import sh
    finally:
        _step_aside(stub)
    return sh
