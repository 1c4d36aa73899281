"""File writes every layer shares (issue 17, item 3: no symlink followed, no mode left to the umask).

    make_dirs(path)                       path and its missing parents, each created 0755 whatever the umask
    open_nofollow(path, flags, mode, what)  os.open with O_NOFOLLOW: a symlink there is refused (OsvcError)
    write_atomic(path, text, mode, durable)  a temporary beside it (never through a link), then rename
    disk_full(exc, path)                  an ENOSPC/EDQUOT met writing `path` as one clear DiskFull (exit 6)

The engine's folders ($OSVC_ROOT, etc/, var/, var/lock/, var/<svc>/, log/) are created 0755: what keeps
another user from planting a link or a file in them is that they are root's and not group/world-writable,
not their being unreadable. 0755 rather than 0700 for var/lock: a lock file's content (the holder's pid and
intent, mode 0600 itself) is no secret, and the folder's names are the services' names, listed in etc/
anyway; 0700 would add nothing but a refusal for a non-root user's read-only commands. An existing folder's
mode is never changed here (the operator's choice; config/trust checks what must be refused).
"""

import errno
import os
from pathlib import Path

from core.errors import DiskFull, OsvcError

DIR_MODE = 0o755
# Below this much free space a filesystem is full for the engine's purpose (the journal's: an I/O error of
# SQLite's there is the disk being full, journal/store.py).
FULL_MARGIN = 1 << 20


def make_dirs(path, mode=DIR_MODE):
    """Create `path` and its missing parents with `mode` exactly (chmod after mkdir: the umask is ignored)."""
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():      # like Path.mkdir(parents=True, exist_ok=True)
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    missing = []
    while not os.path.lexists(path):
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, mode)
        except FileExistsError:
            continue
        os.chmod(folder, mode)


def symlink_refusal(path, what) -> OsvcError:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return OsvcError(f"{what} {path} is a symbolic link (to {target}): refused, the engine never writes "
                     f"through a link there. Remove it (rm {path}) and check who could create it")


def open_nofollow(path, flags, mode=0o600, what="file") -> int:
    """os.open(path, flags | O_NOFOLLOW | O_CLOEXEC): a symlink as the last component is refused with a clear
    OsvcError (never created through, never truncated, never appended to). Other OSErrors propagate."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.EEXIST and os.path.islink(path)):
            raise symlink_refusal(path, what) from None
        raise


def write_atomic(path: Path, text: str, mode=0o644, durable=False):
    """durable: fsync the content before the rename (a file the operator wrote, not a derived view)."""
    path = Path(path)
    make_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = open_nofollow(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode, what="temporary file")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                if durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)       # replaces a link planted at `path` itself, never its target
        except BaseException:
            _unlink(tmp)                # a half-written temporary would hold the space it failed to get
            raise
    except OSError as exc:
        full = disk_full(exc, path)
        if full is None:
            raise
        raise full from None


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


# -- a full disk (issue 17, item 12): one message for every file the engine writes -------------------------


def _mount_of(path):
    p = os.path.realpath(path)
    while not os.path.ismount(p):
        p = os.path.dirname(p)
    return p


def space(folder):
    """(free bytes, full) of the filesystem holding `folder`, or None. Root may use the reserved blocks."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    root = os.geteuid() == 0
    free = (st.f_bfree if root else st.f_bavail) * st.f_frsize
    inodes = st.f_ffree if root else st.f_favail
    return free, free < FULL_MARGIN or (st.f_files > 0 and inodes == 0)


def _kib(n):
    return f"{n // 1024} KiB" if n < 10 << 20 else f"{n >> 20} MiB"


def no_space(path):
    """(`no space left on <mount point> (<free> free) writing <path>`, mount point): how every
    disk-full message starts."""
    mount = _mount_of(os.path.dirname(os.path.abspath(path)))
    found = space(mount)
    free = f" ({_kib(found[0])} free)" if found else ""
    return f"no space left on {mount}{free} writing {path}", mount


def disk_full(exc, path) -> DiskFull | None:
    """The DiskFull of an OSError met writing `path`, when it is one (ENOSPC, EDQUOT), else None."""
    if getattr(exc, "errno", None) not in (errno.ENOSPC, errno.EDQUOT):
        return None
    head, mount = no_space(path)
    return DiskFull(f"{head} ({exc.strerror})", mount)
