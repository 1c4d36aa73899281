"""The 1.5 log format (docs/agent-reference.md §7.1): `10:54:49 INFO    OVMGUEST1.OVM     wait for container ping`.

    log = service_logger(node, "ovmguest1")        # logger OVMGUEST1: console + log/ovmguest1.log
    resource_logger("ovmguest1", "ovm").info("wait for container ping")

- Names UPPER-CASED: the service `SVC`, a resource `SVC.RID`.
- Console (stdout): `%(asctime)s %(levelname)-7s %(name)-<W>s %(message)s`, `%H:%M:%S`,
  W = len(svcname) + 8.
- File `log/<svc>.log`, rotating 5 MB x 5 (`RotatingFileHandler` below: logging.handlers' rotation,
  delayed: a command that logs nothing leaves no file): `%(asctime)s - %(name)s - %(levelname)s - %(message)s`.

Service names often hold dots (deb1.opensvc.com), so logging's dotted hierarchy would make service
`a.b` a child of service `a`. Hence service loggers never propagate (records stop at their own
service's handlers), and a resource logger is only made once its service logger exists, so its
nearest ancestor is always its own service.
Every line is escaped (issue 17, item 10): control characters of the logger's name and of the message
(`\n`, `\r`, ESC...) are written `\n`, `\x1b` (core/text.py), so a value cannot forge a log line or drive
the terminal. One exception: a record logged with `extra={MULTILINE: True}` (the runner's `output:` +
a command's output) keeps its line breaks, one continuation line per output line, everything else
escaped in each.
Stdlib only: this module is on the read path. It never imports logging.handlers (socket, pickle, queue:
~5-8 ms of every action and `--refresh`, issue 19): the rotating file handler is the few lines of it we use.
"""

import logging
import os
import sys

from core.text import ESCAPES_IN_LINE, escaped, escaped_lines

CONSOLE_FORMAT = "%(asctime)s %(levelname)-7s %(name)-{width}s %(message)s"
CONSOLE_DATEFMT = "%H:%M:%S"
FILE_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
FILE_MAX_BYTES = 5 * 1024 * 1024
FILE_BACKUPS = 5
MULTILINE = "multiline"    # a record attribute: its message's line breaks are lines of output, kept


class EscapingFormatter(logging.Formatter):
    """The log formats with the name and the message escaped; a MULTILINE record keeps its line breaks."""

    def formatMessage(self, record):
        saved = record.name, record.message
        record.name = escaped(record.name)
        record.message = (escaped_lines(record.message) if getattr(record, MULTILINE, False)
                          else escaped(record.message, ESCAPES_IN_LINE))
        try:
            return super().formatMessage(record)
        finally:             # the record goes on to the next handler as it came
            record.name, record.message = saved


def logger_name(svc: str, rid: str | None = None) -> str:
    return (svc if not rid else f"{svc}.{rid}").upper()


def console_formatter(svc: str, converter=None) -> logging.Formatter:
    """The 1.5 console formatter for `svc`. `converter` (seconds -> struct_time, default
    time.localtime) lets tests pin the clock."""
    fmt = EscapingFormatter(CONSOLE_FORMAT.format(width=len(svc) + 8), CONSOLE_DATEFMT)
    if converter is not None:
        fmt.converter = converter
    return fmt


def file_formatter(converter=None) -> logging.Formatter:
    fmt = EscapingFormatter(FILE_FORMAT)
    if converter is not None:
        fmt.converter = converter
    return fmt


# The messages of the ERROR records the console showed: the CLI prints its final `osvc-engine: error: ...`
# only when the operator has not just read the same words on the same terminal (shown_on_terminal).
_ERRORS_SHOWN = set()


def shown_on_terminal(message: str) -> bool:
    """Did the console log `message` at ERROR or above, with stdout and stderr on the same terminal? Then the
    error was already in front of the operator. Redirected or captured, stderr must still get it (scripts)."""
    if message not in _ERRORS_SHOWN:
        return False
    try:
        return (sys.stdout.isatty() and sys.stderr.isatty()
                and os.ttyname(sys.stdout.fileno()) == os.ttyname(sys.stderr.fileno()))
    except (AttributeError, OSError, ValueError):
        return False


class ConsoleHandler(logging.StreamHandler):
    """stdout by default, looked up at each record (so a redirected or captured sys.stdout is
    honoured even for a logger built earlier), or the stream given."""

    def __init__(self, stream=None):
        super().__init__(stream)   # sets stream (stderr when None) through the setter below...
        self._fixed = stream       # ...so pin what was asked: None means "sys.stdout at emit time"

    @property
    def stream(self):
        return self._fixed if self._fixed is not None else sys.stdout

    @stream.setter
    def stream(self, value):
        self._fixed = value

    def emit(self, record):
        super().emit(record)
        if record.levelno >= logging.ERROR and self._fixed is None:
            _ERRORS_SHOWN.add(record.getMessage())


class RotatingFileHandler(logging.FileHandler):
    """logging.handlers.RotatingFileHandler's rotation (Python 3.11) without importing logging.handlers: before a
    record would take the file to `maxBytes`, `<file>.i` becomes `<file>.i+1` (`backupCount` kept, `.1` the
    newest) and the file starts anew; only a regular file rotates. Opened with O_NOFOLLOW (issue 17, item 3): a
    link planted at log/<svc>.log is never appended to (service_logger refuses it first; this closes the window
    between its check and the open)."""

    def __init__(self, filename, maxBytes=0, backupCount=0, encoding=None, delay=False):
        super().__init__(filename, "a", encoding=encoding, delay=delay)
        self.maxBytes = maxBytes
        self.backupCount = backupCount

    def _open(self):
        from core.files import open_nofollow

        fd = open_nofollow(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644, what="log file")
        return os.fdopen(fd, self.mode, encoding=self.encoding, errors=self.errors)

    def emit(self, record):
        try:
            if self.shouldRollover(record):
                self.doRollover()
            logging.FileHandler.emit(self, record)
        except Exception:   # noqa: BLE001 (logging's rule: a record that cannot be written is reported, not raised)
            self.handleError(record)

    def shouldRollover(self, record):
        if os.path.exists(self.baseFilename) and not os.path.isfile(self.baseFilename):
            return False
        if self.stream is None:
            self.stream = self._open()
        if self.maxBytes > 0:
            msg = f"{self.format(record)}\n"
            self.stream.seek(0, 2)
            if self.stream.tell() + len(msg) >= self.maxBytes:
                return True
        return False

    def doRollover(self):
        if self.stream:
            self.stream.close()
            self.stream = None
        if self.backupCount > 0:
            for i in range(self.backupCount - 1, 0, -1):
                sfn, dfn = f"{self.baseFilename}.{i}", f"{self.baseFilename}.{i + 1}"
                if os.path.exists(sfn):
                    if os.path.exists(dfn):
                        os.remove(dfn)
                    os.rename(sfn, dfn)
            dfn = self.baseFilename + ".1"
            if os.path.exists(dfn):
                os.remove(dfn)
            if os.path.exists(self.baseFilename):
                os.rename(self.baseFilename, dfn)
        if not self.delay:
            self.stream = self._open()


def file_handler(path, max_bytes=FILE_MAX_BYTES, backups=FILE_BACKUPS):
    """The service's log file: rotated before a record would pass `max_bytes`, `backups` old files
    kept (`.1` the newest), created by the first record, never through a symlink (RotatingFileHandler)."""
    return RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True)


def _handler(logger, cls):
    return next((h for h in logger.handlers if type(h) is cls), None)


def _svc_logger(svc):
    log = logging.getLogger(logger_name(svc))
    if log.level != logging.DEBUG:
        # level filtering is the handlers' job. Only once: setLevel clears every logger's cache, and a resource
        # logger is asked for at each of its steps (O(loggers²) over an action, issue 19)
        log.setLevel(logging.DEBUG)
    log.propagate = False
    return log


def service_logger(node, svc: str, stream=None, converter=None, level=logging.INFO) -> logging.Logger:
    """The service's logger, with its console and file handlers. Idempotent: calling again reuses
    the handlers, points the console at `stream` when one is given, and re-targets the file when
    the node's log path changed (another OSVC_ROOT)."""
    log = _svc_logger(svc)
    console = _handler(log, ConsoleHandler)
    if console is None:
        console = ConsoleHandler(stream)
        log.addHandler(console)
    elif stream is not None:
        console.stream = stream
    console.setLevel(level)
    if converter is not None or console.formatter is None:
        console.setFormatter(console_formatter(svc, converter))

    from core.files import make_dirs, symlink_refusal

    path = node.log_path(svc)
    if os.path.islink(path):
        raise symlink_refusal(path, "log file")
    rotating = _handler(log, RotatingFileHandler)
    if rotating is not None and rotating.baseFilename != os.path.abspath(path):
        log.removeHandler(rotating)
        rotating.close()
        rotating = None
    if rotating is None:
        make_dirs(path.parent)
        rotating = file_handler(path)
        rotating.setLevel(logging.DEBUG)
        log.addHandler(rotating)
    if converter is not None or rotating.formatter is None:
        rotating.setFormatter(file_formatter(converter))
    return log


def resource_logger(svc: str, rid: str) -> logging.Logger:
    """`SVC.RID`: its records propagate to the service logger's handlers (set up by service_logger)."""
    _svc_logger(svc)
    return logging.getLogger(logger_name(svc, rid))
