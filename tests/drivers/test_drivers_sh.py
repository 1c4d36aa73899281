"""drivers/_sh.py: sh imported with a stand-in for importlib.metadata, and never first from a probe thread."""

import threading

from domain.service import ResourceSpec
from tests.helpers.child import python_out


def test_sh_asks_the_stand_in_its_own_version_and_nothing_else():
    """Fails when sh changes how it asks for its version: another question loads the real
    importlib.metadata (and email...) during the import, no question leaves the stand-in unused."""
    code = ("import sys\n"
            "from drivers import _sh\n"
            "sh = _sh.import_sh()\n"
            "loaded = sorted(m for m in ('importlib.metadata', 'email', 'zipfile', 'csv') if m in sys.modules)\n"
            "import importlib.metadata as real\n"
            "print(_sh.answered, loaded, sh.__version__ == real.version('sh'), type(real).__name__)\n")
    out = python_out(code)
    assert out.split() == ["['sh']", "[]", "True", "module"]


def test_the_stand_in_steps_aside_for_any_other_question():
    code = ("import sys, importlib\n"
            "from drivers import _sh\n"
            "stub = _sh._VersionOnlyMetadata('importlib.metadata')\n"
            "sys.modules['importlib.metadata'] = importlib.metadata = stub\n"
            "dist = stub.distribution('sh')\n"
            "print(sys.modules['importlib.metadata'] is stub, type(sys.modules['importlib.metadata']).__name__,\n"
            "      dist.version == stub.version('sh'))\n")
    out = python_out(code)
    assert out.split() == ["False", "module", "True"]


def test_sh_imports_without_asyncio_nor_inspect_and_loads_them_when_used():
    """asyncio and inspect stand-ins (drivers/_sh.py): `import sh` loads neither; a command runs without them;
    sh run from a coroutine (`_async`, `async for`) and an output callback load the real modules."""
    code = ("import sys\n"
            "from drivers import _sh\n"
            "sh = _sh.import_sh()\n"
            "print(sorted(m for m in ('asyncio', 'inspect', 'ssl', 'importlib.metadata', 'platform')\n"
            "             if m in sys.modules))\n"
            "print(sh.echo('plain').strip(), 'asyncio' in sys.modules)\n"
            "seen = []\n"
            "sh.echo('callback', _out=lambda line: seen.append(line.strip()))\n"
            "print(seen, type(sys.modules['inspect']).__name__)\n"
            "import asyncio\n"
            "async def main():\n"
            "    first = (await sh.echo('awaited', _async=True)).strip()\n"
            "    lines = [line.strip() async for line in sh.printf('a\\nb\\n', _iter=True, _async=True)]\n"
            "    return first, lines\n"
            "print(asyncio.run(main()))\n")
    out = python_out(code).splitlines()
    assert out == ["[]", "plain False", "['callback'] module", "('awaited', ['a', 'b'])"]


def test_the_asyncio_stand_in_says_no_loop_without_asyncio_and_asks_asyncio_once_loaded():
    code = ("import sys\n"
            "from drivers import _sh\n"
            "stub = _sh._LazyAsyncio('asyncio')\n"
            "try:\n"
            "    stub.get_running_loop()\n"
            "except RuntimeError as exc:\n"
            "    print('none:', exc, 'asyncio' in sys.modules)\n"
            "import asyncio\n"
            "async def main():\n"
            "    return stub.get_running_loop() is asyncio.get_running_loop()\n"
            "print(asyncio.run(main()))\n")
    out = python_out(code).splitlines()
    assert out == ["none: no running event loop False", "True"]


def test_the_platform_stand_in_answers_system_as_platform_does():
    code = ("import sys\n"
            "from drivers import _sh\n"
            "stub = _sh._LazyPlatform('platform')\n"
            "mine = stub.system()\n"
            "print('platform' in sys.modules)\n"
            "import platform\n"
            "print(mine == platform.system(), stub.machine() == platform.machine())\n")
    out = python_out(code).splitlines()
    assert out == ["False", "True True"]


def test_a_module_already_loaded_is_not_stood_in_for():
    code = ("import sys, asyncio, inspect, platform\n"
            "from drivers import _sh\n"
            "from core.lazy import stand_ins\n"
            "print(stand_ins(_sh.LAZY))\n"
            "sh = _sh.import_sh()\n"
            "g = sh.RunningCommand.__init__.__globals__\n"
            "print(g['asyncio'] is asyncio, g['inspect'] is inspect)\n")
    out = python_out(code).splitlines()
    assert out == ["{}", "True True"]


class Probe:
    """A driver whose status() notes the thread it runs on."""

    def __init__(self, events):
        self.events = events

    def status(self):
        self.events.append(("probe", threading.current_thread() is threading.main_thread()))
        return "up", []


def test_probes_import_sh_on_the_calling_thread_before_the_pool(monkeypatch):
    import drivers.runner
    from engine.probe import _probe_all

    events = []
    monkeypatch.setattr(drivers.runner, "import_sh",
                        lambda: events.append(("import sh", threading.current_thread() is threading.main_thread())))
    resources = [ResourceSpec(rid=f"fs#{i}", family="fs", type="tmpfs", conf={}) for i in (1, 2, 3)]
    values = _probe_all(resources, {r.rid: Probe(events) for r in resources})
    assert values == {r.rid: ("up", []) for r in resources}
    assert events == [("import sh", True)] + [("probe", False)] * 3
