"""Test helpers for core/log.py: a pinned clock for exact log lines, and tearing a service's
handlers down between tests (a CLI command is one process; tests make many service loggers)."""

import logging
import time

from core.log import ConsoleHandler, RotatingFileHandler, logger_name


def fixed_clock(hms: str):
    """A converter: every record shows `hms` (HH:MM:SS) as its time."""
    h, m, s = (int(x) for x in hms.split(":"))
    return lambda _secs: time.struct_time((2000, 1, 1, h, m, s, 5, 1, 0))


def close_service_logger(svc: str):
    """Close and remove the handlers service_logger gave `svc` (not others': pytest's capture)."""
    log = logging.getLogger(logger_name(svc))
    for h in list(log.handlers):
        if type(h) in (ConsoleHandler, RotatingFileHandler):
            log.removeHandler(h)
            h.close()
