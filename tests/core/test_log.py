"""The 1.5 log format: exact console lines, the log file, idempotent set-up."""

import io
import logging
import time

import pytest

from core.log import (
    RotatingFileHandler,
    console_formatter,
    file_handler,
    resource_logger,
    service_logger,
)
from tests.helpers.logs import close_service_logger, fixed_clock


def ours(logger):
    """Our handlers on a logger (pytest attaches its capture handlers to non-propagating loggers)."""
    return sum(type(h).__module__.startswith(("core.", "logging")) for h in logger.handlers)


@pytest.fixture
def console(node):
    buf = io.StringIO()
    made = []

    def make(svc, **kw):
        made.append(svc)
        return service_logger(node, svc, stream=buf, converter=fixed_clock("10:54:49"), **kw)

    yield make, buf
    for svc in made:
        close_service_logger(svc)


def test_console_lines_exact(console):
    make, buf = console
    log = make("ovmguest1")
    resource_logger("ovmguest1", "ovm").info("wait for container ping")
    resource_logger("ovmguest1", "hb#1").info("ovm -u admin -p xxxxx vm ha -n ovmguest1 -e")
    log.warning("service level")
    resource_logger("ovmguest1", "fs#1").error("mount failed")
    log.debug("not on the console")
    assert buf.getvalue() == (
        "10:54:49 INFO    OVMGUEST1.OVM     wait for container ping\n"
        "10:54:49 INFO    OVMGUEST1.HB#1    ovm -u admin -p xxxxx vm ha -n ovmguest1 -e\n"
        "10:54:49 WARNING OVMGUEST1         service level\n"
        "10:54:49 ERROR   OVMGUEST1.FS#1    mount failed\n")


def test_width_follows_the_service_name(console):
    make, buf = console
    make("testsvc")
    resource_logger("testsvc", "container#1").info("wait for container up status")
    # the reference's own sample: the name overflows its 15-wide column by one space
    assert buf.getvalue() == "10:54:49 INFO    TESTSVC.CONTAINER#1 wait for container up status\n"


def test_dotted_service_names_do_not_leak_into_each_other(console):
    make, buf = console
    make("docker")
    make("docker.opensvc.com")
    resource_logger("docker.opensvc.com", "ip#1").info("checking 37.59.71.25 availability")
    assert buf.getvalue() == "10:54:49 INFO    DOCKER.OPENSVC.COM.IP#1    checking 37.59.71.25 availability\n"


def test_idempotent_no_duplicate_handlers(console, node):
    make, buf = console
    make("web1")
    log = service_logger(node, "web1")
    resource_logger("web1", "app")
    resource_logger("web1", "app").info("start S10app")
    assert ours(log) == 2 and ours(logging.getLogger("WEB1.APP")) == 0
    assert buf.getvalue() == "10:54:49 INFO    WEB1.APP     start S10app\n"


def test_log_file(console, node):
    make, buf = console
    make("web1")
    resource_logger("web1", "ip#1").info("ip addr add 10.0.0.5/24 dev eth0")
    logging.getLogger("WEB1").error("boom")
    text = node.log_path("web1").read_text()
    assert text == ("2000-01-01 10:54:49,{ms} - WEB1.IP#1 - INFO - ip addr add 10.0.0.5/24 dev eth0\n"
                    "2000-01-01 10:54:49,{ms2} - WEB1 - ERROR - boom\n").format(
        ms=text[20:23], ms2=text.splitlines()[1][20:23])
    handler = next(h for h in logging.getLogger("WEB1").handlers if isinstance(h, RotatingFileHandler))
    assert (handler.maxBytes, handler.backupCount) == (5 * 1024 * 1024, 5)


def test_log_file_rotates_keeping_five(tmp_path):
    """Rotated before a record would pass the size; .1 is the newest; five old files at most."""
    path = tmp_path / "svc.log"
    log = logging.getLogger("ROTATION.TEST")
    log.propagate = False
    handler = file_handler(path, max_bytes=100)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    try:
        for i in range(8):
            log.warning(f"{i}" * 60)          # 61 bytes a line: one line per file
    finally:
        log.removeHandler(handler)
        handler.close()
    assert path.read_text() == "7" * 60 + "\n"
    assert [(tmp_path / f"svc.log.{n}").read_text() for n in range(1, 6)] == [
        f"{i}" * 60 + "\n" for i in (6, 5, 4, 3, 2)]
    assert not (tmp_path / "svc.log.6").exists()


def test_file_follows_a_new_root(tmp_path, console):
    from core.node import Node

    make, buf = console
    make("web1")
    other = Node(tmp_path / "other", "node2")
    service_logger(other, "web1").info("here")
    assert (tmp_path / "other" / "log" / "web1.log").read_text().endswith(" - WEB1 - INFO - here\n")
    assert ours(logging.getLogger("WEB1")) == 2


def test_default_console_is_stdout_at_emit_time(node, capsys):
    service_logger(node, "late")
    try:
        resource_logger("late", "app").info("hello")
        out = capsys.readouterr().out
        assert out.endswith(" INFO    LATE.APP     hello\n") and len(out) == len("10:54:49 INFO    LATE.APP     hello\n")
    finally:
        close_service_logger("late")


def test_formatter_with_real_clock():
    rec = logging.LogRecord("WEB1.FS#1", logging.INFO, __file__, 1, "mounted", None, None)
    rec.created = time.mktime((2024, 5, 22, 15, 5, 25, 0, 0, -1))
    assert console_formatter("web1").format(rec) == "15:05:25 INFO    WEB1.FS#1    mounted"
