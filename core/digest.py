"""sha256 for the few hashes every command computes, without loading OpenSSL.

hashlib.sha256 is OpenSSL's: `import hashlib` loads _hashlib and libcrypto (~2-4 ms measured on an
action, issue 19), more than all the hashing an action then does (its journal rows' chain, the fold's
meta hash, the snapshot digest). CPython's own sha256 (`_sha256` in 3.11, `_sha2` from 3.12) gives the
same digests (tests/core/test_digest.py compares them) and loads in ~0.2 ms, but is slower per byte:
chain.seal takes ~1.45 us a journal row with it, ~1.05 with OpenSSL's (measured, rows of ~140 bytes).
Loops over a whole journal (journal verify, a mirror's checks) hash with `bulk_sha256()`, OpenSSL's,
whose import they pay once.
"""

try:
    from _sha256 import sha256  # CPython 3.11
except ImportError:
    try:
        from _sha2 import sha256  # CPython 3.12+
    except ImportError:
        from hashlib import sha256  # an interpreter built without them: same digests, OpenSSL's import

__all__ = ["bulk_sha256", "sha256"]


def bulk_sha256():
    """hashlib.sha256 (OpenSSL's where the interpreter has it): the faster per byte, for long loops."""
    import hashlib

    return hashlib.sha256
