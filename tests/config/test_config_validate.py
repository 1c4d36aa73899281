"""`validate config` on a corpus of broken env files: each problem with its line, section and keyword.

Every tests/data/configs/*.env ends with `# expect: <line>: [<section>] <keyword>: <message>` lines: the
exact problems validate must report, in order (`  (warning)` marks a problem that does not stop loading).
"""


import pytest

from config.build import load_service, validate
from core.errors import ConfigError
from tests.helpers.paths import DATA

CORPUS = sorted((DATA / "configs").glob("*.env"))


def expectations(path):
    return [line[len("# expect: "):] for line in path.read_text().splitlines() if line.startswith("# expect: ")]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_corpus_file_reports_exactly_its_problems(node, path):
    target = node.etc / "svc.env"
    target.write_text(path.read_text())
    got = [f"{str(p)[len(str(target)) + 1:]}" + ("" if p.fatal else "  (warning)") for p in validate(node, "svc")]
    assert got == expectations(path)
    assert all(str(p).startswith(f"{target}:") for p in validate(node, "svc"))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_corpus_file_is_refused_by_the_loader_unless_only_warnings(node, path):
    target = node.etc / "svc.env"
    target.write_text(path.read_text())
    fatal = [e for e in expectations(path) if not e.endswith("(warning)")]
    if not fatal:
        spec = load_service(node, "svc")
        assert spec.resources
        return
    with pytest.raises(ConfigError) as exc:
        load_service(node, "svc")
    assert str(exc.value).startswith(f"{target}:{fatal[0]}")
    assert exc.value.exit_code == 3


def test_corpus_covers_every_class_of_problem():
    text = "\n".join(e for p in CORPUS for e in expectations(p))
    for needle in ("unknown section family", "unknown keyword", "missing required keyword", "is not a boolean",
                   "is not an integer", "unresolved reference", "reference loop", "is not scopable",
                   "is not one of", "unknown container type"):
        assert needle in text, needle


@pytest.mark.parametrize("seed", ["vm188", "ovmguest1"])
def test_seeds_are_clean(node, seed):
    (node.etc / f"{seed}.env").write_text((DATA / "seeds" / f"{seed}.env").read_text())
    assert validate(node, seed) == []
