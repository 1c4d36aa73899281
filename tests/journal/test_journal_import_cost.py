"""Issue 19: every action imports journal.store; what only a rare path needs stays out of that import:
shutil (with bz2 and lzma: a reader's private copy), uuid (with _uuid: a new journal's uuid)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_importing_the_store_loads_neither_shutil_nor_uuid():
    code = ("import sys, journal.store; "
            "print(sorted(m for m in ('shutil', 'bz2', 'lzma', 'uuid', '_uuid') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_a_new_journal_still_gets_a_uuid4(tmp_path):
    import uuid

    from journal.store import Journal

    with Journal(tmp_path / "journal.db") as j:
        made = uuid.UUID(hex=j.uuid)
    assert made.hex == j.uuid and made.version == 4 and made.variant == uuid.RFC_4122
