"""Machines benchmark: what attaching models to the shared transitions machines costs.

    python bench/machines.py [--quick]

The engine attaches one model per resource and one for the service at the start of an action, and
detaches them at its end (machines.core.Attached / detach_all): a handful of models per machine. A
bulk load of thousands (`attach_many` below: GC paused, docs/lessons.md §A.7) is a benchmark case only.

transitions keeps a machine's models in a list and tests membership on each add_model and each
remove_model: O(n) per call. Until the engine detached its models, machines.core replaced that list
with a dict-backed registry (`DictModels` below) so that a process keeping every model stayed fast.
This prints both, at the sizes an action attaches and at bulk sizes, so the choice can be re-checked:
best of several runs, per model attach + detach. Never a timed assertion: this prints, it does not fail.
"""

import argparse
import gc
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from machines import core  # noqa: E402
from machines.core import Model, attach, detach, machine  # noqa: E402


def attach_many(models, kind, initial=None):
    """attach() for a bulk load: GC paused, as docs/lessons.md §A.7 measured (moved here from machines.core:
    the engine never attaches in bulk)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        for m in models:
            attach(m, kind, initial)
    finally:
        if enabled:
            gc.enable()
    return models


class DictModels:
    """The dict-backed model registry machines.core used to put in place of transitions' list (the list
    interface transitions 0.9 uses: iter, len, [i], in, append, remove), for comparison."""

    __slots__ = ("_by_id",)

    def __init__(self):
        self._by_id = {}

    def __contains__(self, model):
        return id(model) in self._by_id

    def __iter__(self):
        return iter(list(self._by_id.values()))

    def __len__(self):
        return len(self._by_id)

    def __getitem__(self, i):
        return list(self._by_id.values())[i]

    def append(self, model):
        self._by_id[id(model)] = model

    def remove(self, model):
        del self._by_id[id(model)]


def once(n, registry):
    core._MACHINES.pop("resource", None)       # a fresh shared machine
    m = machine("resource")
    if registry == "dict":
        m.models = DictModels()
    models = [Model(f"fs#{i}", journal=lambda rec: None) for i in range(n)]
    t0 = time.perf_counter()
    attach_many(models, "resource")
    t1 = time.perf_counter()
    for x in models:
        detach(x)
    t2 = time.perf_counter()
    core._MACHINES.pop("resource", None)
    return t1 - t0, t2 - t1


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="skip the 10,000-model case")
    opts = ap.parse_args(argv)
    sizes = (9, 100, 1000) if opts.quick else (9, 100, 1000, 10_000)
    print(f"{'models':>7} {'registry':<9} {'attach ms':>10} {'detach ms':>10} {'us/model':>9}")
    for n in sizes:
        for registry in ("list", "dict"):
            runs = 3 if n >= 10_000 else 10
            attach_s, detach_s = min((once(n, registry) for _ in range(runs)), key=sum)
            print(f"{n:>7} {registry:<9} {attach_s * 1e3:>10.2f} {detach_s * 1e3:>10.2f} "
                  f"{(attach_s + detach_s) / n * 1e6:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
