"""Files the engine runs or believes as root must be writable by root only (issue 17, items 1 and 2).

    check_trusted(path, what)     ConfigError (exit 3) unless `path`, the target of any link in it, and every
                                  folder above both up to / are owned by root (or by the running user when it
                                  is not root) and writable by their owner only
    check_private(path, what)     ConfigError (exit 3) when a secrets file (auth.conf) is readable by others

Like sshd's StrictModes and sudo's checks of sudoers: whoever can write an env file, node.conf, auth.conf, a
launcher or a folder above one of them (to rename or replace it) can make root run anything.

The one exception, and the rule it follows: a FOLDER ABOVE the file that is world-writable but has the
sticky bit and is owned by root (/tmp, /var/tmp) is accepted. With the sticky bit, other users can create
entries there but can neither rename nor remove the entries they do not own, so they cannot replace the
root-owned folder or file below it. OpenSSH's safe_path() does not make this exception (it refuses any
group/world-writable folder); sudo accepts such folders the same way for its timestamp and I/O log paths.
It is needed for test suites and scratch roots under /tmp, and it never applies to the file itself nor to a
folder that is not sticky or not root's.
"""

import os
import pwd
import stat

from core.errors import ConfigError


class UntrustedFile(ConfigError):
    """Exit 3: a file the engine would run or believe as root can be changed by another user."""


def _owner(uid) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _problem(path, st, leaf, allowed) -> str | None:
    if st.st_uid not in allowed:
        return f"owned by {_owner(st.st_uid)}"
    if st.st_mode & 0o022:
        sticky_root_dir = stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX and st.st_uid == 0
        if leaf or not sticky_root_dir:
            who = " and ".join(w for w, bit in (("group", 0o020), ("others", 0o002)) if st.st_mode & bit)
            return f"writable by {who}"
    return None


def _chain(path):
    """`path` and each folder above it, up to /."""
    out = [path]
    while path != os.path.dirname(path):
        path = os.path.dirname(path)
        out.append(path)
    return out


def check_trusted(path, what="file"):
    """Refuse (UntrustedFile, exit 3) a file or folder another user could change; see the module docstring."""
    path = os.path.abspath(os.fspath(path))
    euid = os.geteuid()
    allowed = {0, euid}
    owners = "root" if euid == 0 else f"root or {_owner(euid)}"
    real = os.path.realpath(path)
    for chain in (_chain(path), _chain(real)) if real != path else (_chain(path),):
        for i, item in enumerate(chain):
            try:
                st = os.lstat(item)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(st.st_mode):
                continue        # a link's own mode means nothing: its folder and its target are checked
            problem = _problem(item, st, leaf=(i == 0), allowed=allowed)
            if problem:
                shown = path if item == path else f"{path}: {item}" + (" (its target)" if item == real else "")
                raise UntrustedFile(
                    f"{what} {shown} is {problem} (owner {_owner(st.st_uid)}, mode {stat.S_IMODE(st.st_mode):04o}): "
                    f"refused, another user could make root run or believe what they wrote. It must be owned by "
                    f"{owners} and writable by its owner only: chown root {item} && chmod go-w {item} "
                    f"(after checking its content)")


def check_private(path, what="secrets file"):
    """Refuse (UntrustedFile, exit 3) a secrets file readable by group or others."""
    st = os.stat(path)
    if st.st_mode & 0o077:
        raise UntrustedFile(f"{what} {path} is readable by group or others (mode {stat.S_IMODE(st.st_mode):04o}): "
                            f"refused, it holds a password. chmod 600 {path}")
