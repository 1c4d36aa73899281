"""A Ctrl-C that lands inside an at-fork hook is not lost.

    mark = interrupts.watch()       # main thread: SIGINT counted from now on
    pid = ...fork...                # sh's spawn, a forked child
    interrupts.reraise(mark)        # a KeyboardInterrupt the fork swallowed is raised here

After os.fork() the parent runs the hooks modules registered with os.register_at_fork (logging's lock release,
threading's...). Python drops an exception raised in one of them with an "Exception ignored in" line: a SIGINT
arriving then (a launcher that signals the engine at once, an operator's Ctrl-C on a loaded box) raised its
KeyboardInterrupt there, and the action went on as if nothing happened. The handler installed here behaves as
Python's default one (it raises KeyboardInterrupt) and counts: when the count moved across a fork that returned
normally, the interrupt was swallowed, and `reraise` raises it again.
"""

import signal
import threading

_seen = 0


def _on_sigint(signum, frame):
    global _seen
    _seen += 1
    raise KeyboardInterrupt


def watch() -> int:
    """Count SIGINT from now on (in the main thread, when SIGINT has Python's default handler), and return the
    count to hand to reraise()."""
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)
    return _seen


def reraise(mark: int) -> None:
    """Raise the KeyboardInterrupt a SIGINT since `mark` raised where nobody could catch it."""
    if _seen != mark:
        raise KeyboardInterrupt
