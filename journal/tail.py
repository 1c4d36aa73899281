"""`journal tail`: print records, then (with -f) follow new commits.

Following polls `PRAGMA data_version` (it changes when another connection commits) every few
milliseconds: no read transaction stays open, nothing spins. Because seq is allocated inside the
write transaction, reading `seq > pos` up to the head seen in the same poll never skips a record,
and advancing `pos` to that head never repeats one, whatever the filters.
"""

import os
import time

from core.errors import JournalError, UsageError
from journal import cursor as cursormod
from journal import lines as fmt
from journal.store import decode

POLL_SECONDS = 0.005


class Printer:
    def __init__(self, out, journal, mode="text", show_cursor=False):
        self.out = out
        self.journal = journal
        self.mode = mode
        self.show_cursor = show_cursor
        self.header = fmt.DateHeader()

    def emit(self, rows):
        lines = []
        for row in rows:
            rec = decode(row)
            if self.mode == "json":
                extra = {"cursor": cursormod.make(self.journal.uuid, row[0], row[14])} if self.show_cursor else {}
                lines.append(fmt.json_line(rec, **extra))
            else:
                day = self.header(rec)
                if day:
                    lines.append(day)
                lines.append(fmt.line(rec))
        if lines:
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()


def _save_cursor(path, text):
    """temp + rename: a follower killed mid-write leaves the previous cursor, never half of one."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, path)
    except OSError as exc:      # a full disk, a read-only folder: say so, keep the previous cursor
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise UsageError(f"cannot save the cursor to {path}: {exc.strerror or exc} (the cursor is {text})") from None


def tail(journal, out, filters, *, after=0, last=None, follow=False, mode="text", show_cursor=False,
         cursor_file=None, poll=POLL_SECONDS, stop=None):
    """Print matching records after seq `after` (the newest `last` of them when given), then follow.
    `stop()` returning True ends the follow loop (tests); Ctrl-C ends it too. Returns 0."""
    printer = Printer(out, journal, mode, show_cursor)
    version = journal.data_version()
    pos, pos_hash = journal.head()
    if pos < after:
        raise JournalError(f"journal {journal.path} ends at seq {pos}, before the start seq {after}")
    if last is None:
        printer.emit(journal.scan(seq_after=after, seq_max=pos, **filters))
    elif last > 0:
        printer.emit(journal.raw(last=last, seq_after=after, seq_max=pos, **filters))
    try:
        while follow and not (stop and stop()):
            time.sleep(poll)
            now = journal.data_version()
            if now == version:
                continue
            version = now
            head, head_hash = journal.head()
            if head < pos or journal.hash_at(pos) != pos_hash:
                raise JournalError(f"journal {journal.path} changed under the follower: seq {pos} "
                                   f"{'is gone' if head < pos else 'was rewritten'} (truncated, restored "
                                   f"or replaced); run `osvc-engine journal verify`")
            if head == pos:
                continue
            printer.emit(journal.scan(seq_after=pos, seq_max=head, **filters))
            pos, pos_hash = head, head_hash
            if cursor_file:
                _save_cursor(cursor_file, cursormod.make(journal.uuid, pos, pos_hash))
    except KeyboardInterrupt:
        pass
    text = cursormod.make(journal.uuid, pos, pos_hash)
    if cursor_file:
        _save_cursor(cursor_file, text)
    if show_cursor and mode == "text":
        out.write(f"-- cursor: {text}\n")
        out.flush()
    return 0
