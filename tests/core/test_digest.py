"""core.digest: CPython's sha256 gives hashlib's (OpenSSL's) digests byte for byte, so a journal chained
with one verifies with the other; and importing it, or what an action imports for its hashes, loads no
OpenSSL (issue 19)."""

import hashlib
import os
import subprocess
import sys

import pytest

from core import digest
from journal import chain

INPUTS = [b"", b"a", b"abc", b"osvc-engine journal\0" + bytes(16), bytes(range(256)) * 3,
          b"x" * 55, b"x" * 56, b"x" * 63, b"x" * 64, b"x" * 65, b"x" * 1_000_003, os.urandom(4096)]


@pytest.mark.parametrize("data", INPUTS, ids=lambda d: f"{len(d)}B")
def test_the_builtin_sha256_is_hashlib_s(data):
    assert digest.sha256(data).digest() == hashlib.sha256(data).digest()
    assert digest.sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
    assert digest.bulk_sha256()(data).digest() == hashlib.sha256(data).digest()


def test_incremental_updates_give_the_same_digest():
    h, ref = digest.sha256(), hashlib.sha256()
    for part in INPUTS:
        h.update(part)
        ref.update(part)
    assert h.digest() == ref.digest()


def test_a_chain_sealed_with_one_verifies_with_the_other():
    uid = os.urandom(16).hex()
    pack = chain.make_canonical()
    rows = [[0, 0, 0, "n1", "web", f"app#{i}", "resource", "app", "start", "down", "up", "a1", b"\x80", 1]
            for i in range(20)]
    _, last, _ = chain.seal(rows, 0, chain.genesis(uid), 0, 1_700_000_000_000_000_000, chain.salt(uid), pack)
    prev = hashlib.sha256(b"osvc-engine journal\0" + bytes.fromhex(uid)).digest()
    assert prev == chain.genesis(uid)
    for row in rows:
        assert chain.row_hash(prev, chain.salt(uid), row[:14], pack, hashlib.sha256) == row[14]
        prev = row[14]
    assert prev == last


def test_an_action_s_hashing_modules_load_no_openssl():
    code = ("import sys; import core.digest, journal.chain, journal.store, engine.history.fold, "
            "engine.history.snapshots, engine.history.observations; "
            "print(sorted(m for m in ('_hashlib', 'hashlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert out.stdout.strip() == "[]"
