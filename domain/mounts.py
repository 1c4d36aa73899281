"""The system mount points a service must never mount, unmount or `fuser -k` (issue 17, item 6).

    system_mount_point("/usr/")     # '/usr'     (normalized; '/proc' for anything below /proc)
    system_mount_point("/srv/app")  # None

config/checks.py refuses them in an env file (validate, load); drivers/fs.py refuses them again at stop time,
whatever the env file said when the fs was started (a reference that now resolves to /, an old journal).
Stdlib only: both the config and the drivers layers read it.
"""

import os

# Mount points an `fs` resource must never own. Its stop unmounts everything below the mount point, deepest
# first, then `umount`s it and, if busy, `fuser -km`s it: on these it would take the node down (kill every
# process of the root filesystem, unmount /proc or /dev/pts...). The list is the Filesystem Hierarchy Standard's
# operating-system trees and the kernel's virtual filesystems:
#   /                    the root filesystem
#   /bin /sbin /lib* /usr and their main subtrees, /etc, /boot (/boot/efi), /root
#                        the operating system itself (merged-/usr links included)
#   /var and its system subtrees (cache, lib, log, spool, tmp, mail, backups), /tmp
#                        shared by every daemon: fuser -km would kill them all
#   /run (/run/lock, /run/shm, /run/user)
#                        the boot-time tmpfs holding pid files, sockets, /run/netns
#   /proc /sys /dev      and everything below them: virtual filesystems (SYSTEM_TREES)
# Not listed, because they are legitimately a service's data on shared storage: /srv, /opt, /home, /mnt,
# /media, /export and anything below /srv, /opt, /var/lib/<app>... Also refused: the engine's own root and any
# folder above it (a mount there hides the env files and the journal in the middle of an action).
SYSTEM_MOUNT_POINTS = frozenset({
    "/", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib",
    "/usr/lib32", "/usr/lib64", "/usr/libx32", "/usr/libexec", "/usr/local", "/usr/share", "/usr/include",
    "/etc", "/boot", "/boot/efi", "/root", "/var", "/var/cache", "/var/lib", "/var/log", "/var/spool",
    "/var/tmp", "/var/mail", "/var/backups", "/var/run", "/var/lock", "/tmp", "/run", "/run/lock", "/run/shm",
    "/run/user",
})
SYSTEM_TREES = ("/proc", "/sys", "/dev")


def normalized(path: str) -> str:
    """/usr/, //usr, /usr/./bin/.. -> /usr (posixpath.normpath keeps a leading '//')."""
    norm = os.path.normpath(path)
    return "/" + norm.lstrip("/") if norm.startswith("/") else norm


def system_mount_point(path: str) -> str | None:
    """The system mount point `path` is (or lies under, for /proc /sys /dev), else None. `path` is taken as
    given; callers pass it normalized (and its realpath too)."""
    if path in SYSTEM_MOUNT_POINTS:
        return path
    for tree in SYSTEM_TREES:
        if path == tree or path.startswith(tree + "/"):
            return tree
    return None
