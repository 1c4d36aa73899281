"""Progress of a long wait, on a terminal only (issue 17, item 20): a VM boot polled for up to 600 s, a loop
device the kernel is slow to release. The log says `wait for container up status` once; meanwhile an operator
at a terminal sees a line every EVERY seconds on stderr:

    still waiting for container up status (12s/180s)

Not in the log, not in the journal (the journal times every phase already), and nothing when stderr is not a
terminal: a script reading stderr gets only errors. OSVC_PROGRESS=1 shows it anyway (tests), 0 never.
"""

import os
import sys

PROGRESS_ENV = "OSVC_PROGRESS"
EVERY = 5.0        # seconds between two lines: a boot of 30 s says so 5 times, a quick one never


def enabled(stream=None) -> bool:
    forced = os.environ.get(PROGRESS_ENV)
    if forced in ("0", "1"):
        return forced == "1"
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):    # a closed or fake stream
        return False


class Waiting:
    """waiting = Waiting("container up status", timeout, clock); waiting.tick() at each poll."""

    def __init__(self, what, timeout, clock, every=EVERY):
        self.what, self.timeout, self.clock, self.every = what, timeout, clock, every
        self.shown = enabled()
        self.start = clock()
        self.next = every

    def tick(self):
        if not self.shown:
            return
        elapsed = self.clock() - self.start
        if elapsed < self.next:
            return
        while self.next <= elapsed:
            self.next += self.every
        sys.stderr.write(f"still waiting for {self.what} ({elapsed:.0f}s/{self.timeout:g}s)\n")
        sys.stderr.flush()
