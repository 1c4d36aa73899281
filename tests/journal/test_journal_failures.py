"""A failed append (disk full, read-only, lock) raises JournalError, writes nothing, and leaves the
journal whole. Uses a real tiny tmpfs and a real immutable file (root only)."""

import os
import subprocess

import pytest

from core.errors import JournalError
from journal.store import Journal
from journal.verify import verify

@pytest.fixture
def tiny_fs(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=True)


@pytest.mark.root
def test_disk_full_append_fails_whole_and_the_journal_stays_whole(tiny_fs):
    path = tiny_fs / "journal.db"
    j = Journal(path)
    acked = []
    with pytest.raises(JournalError) as info:
        for i in range(1000):
            group = [{"svc": "web1", "payload": {"blob": os.urandom(3000), "i": i, "k": k}} for k in range(3)]
            acked += j.append(group, durable=i % 2 == 0)
    assert str(info.value) == (f"journal {path}: the disk is full (database or disk is full); nothing was "
                               f"written. Free space on its filesystem, then retry")
    assert acked and len(acked) % 3 == 0
    assert j.last_seq() == acked[-1]              # nothing of the failed group
    with pytest.raises(JournalError, match="disk is full"):
        j.append_one({"svc": "web1", "payload": {"blob": os.urandom(3000)}})
    j.close()
    j = Journal(path)                                # a new process' view: opens, verifies, all acked
    assert verify(j).records == len(acked)
    assert [r["seq"] for r in j.read()] == acked
    assert [(r["payload"]["i"], r["payload"]["k"]) for r in j.read()] == [(i, k) for i in range(len(acked) // 3)
                                                                        for k in range(3)]


@pytest.mark.root
def test_read_only_file_append_fails_and_the_journal_stays_whole(tmp_path):
    path = tmp_path / "journal.db"
    j = Journal(path)
    j.append([{"svc": "web1"}, {"svc": "web2"}])
    files = [str(path), f"{path}-wal"]
    if subprocess.run(["chattr", "+i", *files], capture_output=True).returncode:
        pytest.skip("this filesystem does not support chattr +i")
    try:
        with pytest.raises(JournalError) as info:
            j.append([{"svc": "web3"}, {"svc": "web4"}])
    finally:
        subprocess.run(["chattr", "-i", *files], check=True)
    assert str(info.value).startswith(f"journal {path} is read-only (")
    assert "nothing was written" in str(info.value)
    assert j.last_seq() == 2
    assert j.append_one({"svc": "web5"}) == 3        # writable again: seq continues, no hole
    assert verify(j).records == 3


@pytest.mark.root
def test_read_only_mount_is_a_clear_error(tmp_path):
    src, ro = tmp_path / "src", tmp_path / "ro"
    ro.mkdir()
    Journal(src / "journal.db").append_one({"svc": "web1"})
    if subprocess.run(["mount", "--bind", str(src), str(ro)]).returncode:
        pytest.skip("cannot bind mount here")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
        with pytest.raises(JournalError, match=f"cannot open journal {ro}/journal.db"):
            Journal(ro / "journal.db")
    finally:
        subprocess.run(["umount", str(ro)], check=True)
    assert verify(Journal(src / "journal.db")).records == 1


def test_unwritable_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "var"
    blocker.write_text("a file where the var directory should be")
    with pytest.raises(JournalError, match=f"cannot create journal {blocker}/journal.db: File exists "
                                           f"\\({blocker}\\). Check its directory exists and is writable"):
        Journal(blocker / "journal.db")
