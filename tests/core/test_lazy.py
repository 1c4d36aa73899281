"""core/lazy.py: transitions imported without inspect and six (machines/core.py), and what the stand-ins answer."""

from tests.helpers.child import python_out


def run(code):
    return python_out(code).split()


def test_machines_import_transitions_without_inspect_nor_six_and_a_machine_still_runs():
    out = run("import sys\n"
              "from machines.core import Model, attach, detach, fire\n"
              "print(sorted(m for m in ('inspect', 'six', 'ast', 'dis') if m in sys.modules))\n"
              "records = []\n"
              "m = Model('app#1', journal=records.append)\n"
              "attach(m, 'resource', 'down')\n"
              "fire(m, 'start')\n"
              "print(m.state, records[-1]['src'], records[-1]['dst'], 'inspect' in sys.modules)\n"
              "detach(m)\n")
    assert out == ["[]", "starting", "down", "starting", "False"]


def test_transitions_binding_an_enter_callback_loads_inspect_through_the_stand_in():
    """Our models may not define on_enter_<state> (machines.core refuses them); transitions binds such methods
    with inspect.ismethod, and its stand-in then loads the real module."""
    out = run("import sys\n"
              "import machines.core\n"
              "from transitions import Machine\n"
              "class Seen:\n"
              "    def on_enter_b(self):\n"
              "        print('entered')\n"
              "seen = Seen()\n"
              "Machine(model=seen, states=['a', 'b'], initial='a', transitions=[['go', 'a', 'b']])\n"
              "seen.go()\n"
              "print(type(sys.modules['inspect']).__name__)\n")
    assert out == ["entered", "module"]


def test_the_six_stand_in_answers_as_six_does():
    out = run("from core.lazy import LazySix\n"
              "stub = LazySix('six')\n"
              "import six\n"
              "print(stub.string_types == six.string_types, stub.PY3 == six.PY3)\n")
    assert out == ["True", "True"]


def test_a_module_already_loaded_is_not_stood_in_for_and_the_stand_ins_leave():
    out = run("import sys, inspect\n"
              "from core.lazy import LazyModule, LazySix, importing\n"
              "with importing({'inspect': LazyModule, 'six': LazySix}) as installed:\n"
              "    print(sorted(installed), sys.modules['inspect'] is inspect)\n"
              "print('six' in sys.modules)\n")
    assert out == ["['six']", "True", "False"]
