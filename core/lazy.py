"""Import a library without the modules it imports at its top but uses only at run time (issue 19: every action
paid for them at start-up).

    from core.lazy import LazyModule, importing

    with importing({"inspect": LazyModule, "six": LazySix}):
        from transitions import Machine           # its `inspect` global is a stand-in until first used

While the library imports, a stand-in sits in sys.modules for each named module that nothing has loaded yet;
the library keeps it as its global. The first attribute anybody asks of a stand-in loads the real module and
answers from it (then it is an ordinary module), unless the stand-in's class answers that attribute itself
(LazySix's `string_types`). After the import the stand-ins leave sys.modules: later importers get the real
modules. The swap is process-wide: do it on the main thread, before other threads may import those modules.

Used for sh (drivers/_sh.py: asyncio, inspect, platform) and transitions (machines/core.py: inspect, six);
tests/core/test_lazy.py and tests/drivers/test_drivers_sh.py hold each library to what its stand-ins answer.
"""

import sys
import types
from contextlib import contextmanager


class LazyModule(types.ModuleType):
    """Stands in for a module a library imports but uses only at run time: the real one is loaded on the first
    attribute asked."""

    def __getattr__(self, attr):
        if attr.startswith("__"):       # import machinery and introspection: not a use of the module
            raise AttributeError(attr)
        import importlib

        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


class LazySix(LazyModule):
    """six's stand-in: transitions asks it `string_types` at import, which on Python 3 is (str,); six builds its
    whole table of moved modules when imported (2-5 ms here)."""

    string_types = (str,)


def stand_ins(lazy: dict) -> dict:
    """name -> stand-in, for the modules of `lazy` (name -> class) that nothing has loaded yet."""
    return {name: cls(name) for name, cls in lazy.items() if name not in sys.modules}


@contextmanager
def importing(lazy: dict):
    """Inside: the stand-ins of `lazy` (name -> class) in sys.modules; yields them (name -> stand-in)."""
    installed = stand_ins(lazy)
    sys.modules.update(installed)
    try:
        yield installed
    finally:
        for name, module in installed.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
