"""core/interrupts.py: a Ctrl-C that an at-fork hook dropped is raised again once the fork is done (the runner's
spawns: tests/drivers/test_runner.py)."""

from tests.helpers.child import DEFAULT_SIGINT, SIGINT_IN_FIRST_FORK, python_out


def test_forked_children_are_all_reaped_then_the_dropped_interrupt_is_raised():
    out = python_out(SIGINT_IN_FIRST_FORK +
                     "from core import forked\n"
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
