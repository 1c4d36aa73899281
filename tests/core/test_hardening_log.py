"""Issue 17 item 10, the log side: a value's newline or escape sequence never forges a line of the console
or of log/<svc>.log, nor reaches the terminal; a command's output keeps its lines (`output:` then one line a
line), each escaped."""

import io

import pytest

from core.log import resource_logger, service_logger
from drivers.runner import Runner
from tests.helpers.logs import close_service_logger, fixed_clock


@pytest.fixture
def web(node):
    buf = io.StringIO()
    service_logger(node, "web", stream=buf, converter=fixed_clock("10:54:49"))
    yield buf, node.log_path("web")
    close_service_logger("web")


def file_lines(path):
    return [line.split(" - ", 1)[1] for line in path.read_text().splitlines()]


def test_a_value_s_newline_and_escape_sequence_stay_on_the_record_s_line(web):
    buf, path = web
    resource_logger("web", "fs#1").info("mount /dev/x on /mnt/a\n10:54:50 INFO    WEB   forged\x1b[2J\rdone")
    assert buf.getvalue() == ("10:54:49 INFO    WEB.FS#1    mount /dev/x on /mnt/a\\n10:54:50 INFO    WEB   "
                              "forged\\x1b[2J\\rdone\n")
    assert file_lines(path) == [("WEB.FS#1 - INFO - mount /dev/x on /mnt/a\\n10:54:50 INFO    WEB   "
                                 "forged\\x1b[2J\\rdone")]


def test_the_logger_s_name_is_escaped_too(web):
    buf, path = web
    resource_logger("web", "ip#1\x1b]0;t\x07").warning("x")
    assert buf.getvalue() == "10:54:49 WARNING WEB.IP#1\\x1b]0;T\\x07 x\n"
    assert "\x1b" not in path.read_text()


def test_a_command_s_output_keeps_its_lines_each_escaped(web, tmp_path):
    buf, path = web
    runner = Runner(log=resource_logger("web", "app"))
    runner.run(["printf", r"one\ntwo \033[2K\rthree\tfour\n"], timeout=10)
    assert buf.getvalue().splitlines() == [
        r"10:54:49 INFO    WEB.APP     printf one\ntwo \033[2K\rthree\tfour\n",
        "10:54:49 INFO    WEB.APP     output:",
        "one",
        "two \\x1b[2K\\rthree\tfour",
    ]
    lines = path.read_text().splitlines()
    assert lines[1].endswith(" - WEB.APP - INFO - output:")
    assert lines[2:] == ["one", "two \\x1b[2K\\rthree\tfour"]


def test_a_record_reaches_every_handler_unescaped(web):
    """The console's escaping is its own: the record the next handler gets is the one logged."""
    import logging

    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append((record.name, record.getMessage()))

    log = logging.getLogger("WEB")
    keep = Keep()
    log.addHandler(keep)
    try:
        resource_logger("web", "fs#1").info("a\nb")
    finally:
        log.removeHandler(keep)
    assert seen == [("WEB.FS#1", "a\nb")]
