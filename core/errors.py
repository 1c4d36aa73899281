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


class DiskFull(JournalError):
    """No space left writing one of the engine's files (the journal, states.json, status.json, the lock):
    exit 6 like the journal's own refusal, and the same treatment in an action (a JournalError stops it at
    once, left open for `recover`): what cannot be recorded must not go on. `head` says where and what
    (core/files.py no_space), `mount` where to free space; a caller that knows more re-words the end."""

    def __init__(self, head, mount, then="retry"):
        self.head, self.mount = head, mount
        super().__init__(f"{head}. Free space on {mount}, then {then}")
