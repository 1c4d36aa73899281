"""core/interrupts.py: a Ctrl-C that an at-fork hook dropped is raised again once the fork is done (the runner's
spawns: tests/drivers/test_runner.py)."""

from tests.helpers.child import python_out

# Python's own SIGINT handler, as an interactive start gives it: a child of a shell without job control (CI's
# `nohup ... &`) inherits SIGINT ignored, and Python then installs none
DEFAULT_SIGINT = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
# an at-fork hook that receives SIGINT on the first fork: its KeyboardInterrupt is raised, and dropped, in the hook
HOOK = DEFAULT_SIGINT + ("import os, signal, time\n"
                         "fired = []\n"
                         "def hook():\n"
                         "    if not fired:\n"
                         "        fired.append(1)\n"
                         "        os.kill(os.getpid(), signal.SIGINT)\n"
                         "        time.sleep(0.2)\n"
                         "os.register_at_fork(after_in_parent=hook)\n")


def test_forked_children_are_all_reaped_then_the_dropped_interrupt_is_raised():
    out = python_out(HOOK + "from core import forked\n"
                            "try:\n"
                            "    print(forked.run([lambda: 1, lambda: 2]))\n"
                            "except KeyboardInterrupt:\n"
                            "    try:\n"
                            "        os.waitpid(-1, os.WNOHANG)\n"
                            "        print('interrupted', 'a-child-left')\n"
                            "    except ChildProcessError:\n"
                            "        print('interrupted', 'reaped')\n"
                            "print(forked.run([lambda: 3]))\n")
    assert out.split() == ["interrupted", "reaped", "[3]"]


def test_without_a_dropped_interrupt_nothing_is_raised_and_sigint_still_interrupts():
    out = python_out(DEFAULT_SIGINT + "import os, signal, time\n"
                     "from core import interrupts\n"
                     "mark = interrupts.watch()\n"
                     "interrupts.reraise(mark)\n"
                     "try:\n"
                     "    os.kill(os.getpid(), signal.SIGINT)\n"
                     "    time.sleep(1)\n"
                     "except KeyboardInterrupt:\n"
                     "    print('interrupted')\n"
                     "interrupts.reraise(interrupts.watch())\n"
                     "print('done')\n")
    assert out.split() == ["interrupted", "done"]
