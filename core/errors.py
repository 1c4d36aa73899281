"""Errors the user sees: one clear message and an exit code that says what went wrong."""

# Exit codes, as data: scripts test them.
EXIT_ERROR = 1        # the action failed, or was refused
EXIT_USAGE = 2        # bad command line
EXIT_CONFIG = 3       # the env file is wrong
EXIT_NOT_FOUND = 4    # unknown service, rid, cursor...
EXIT_LOCKED = 5       # a lock could not be taken in time
EXIT_JOURNAL = 6      # the journal refused an append or failed verification


class OsvcError(Exception):
    """An error meant for the operator: str(exc) is the whole message."""

    exit_code = EXIT_ERROR


class UsageError(OsvcError):
    exit_code = EXIT_USAGE


class ConfigError(OsvcError):
    exit_code = EXIT_CONFIG


class NotFound(OsvcError):
    exit_code = EXIT_NOT_FOUND


class LockTimeout(OsvcError):
    exit_code = EXIT_LOCKED


class JournalError(OsvcError):
    exit_code = EXIT_JOURNAL
