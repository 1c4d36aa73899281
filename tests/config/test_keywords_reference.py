"""Issue 17 item 20: the user reference of every env file keyword, docs/keywords.md, is `osvc-engine keywords`'s
output, generated from config/keywords.py (like docs/machines.md from the machine tables)."""

import pytest

from config import keywords as kw
from tests.helpers.cli import osvc, run
from tests.helpers.paths import REPO


def test_docs_keywords_md_is_the_command_s_output(capsys):
    rc, out, _ = run(capsys, "keywords")
    assert rc == 0
    assert (REPO / "docs" / "keywords.md").read_text() == out, \
        "docs/keywords.md drifted: regenerate with `osvc-engine keywords > docs/keywords.md`"


def every_keyword():
    groups = [kw.DEFAULT_KEYWORDS, kw.RESOURCE_KEYWORDS, kw.SUBSET_KEYWORDS]
    for fam in kw.FAMILIES.values():
        groups += [fam.common, fam.other, *fam.per_type.values()]
    return {k.name for group in groups for k in group}


def test_every_keyword_of_the_table_is_in_the_reference():
    text = (REPO / "docs" / "keywords.md").read_text()
    patterned = {k.name for k in kw.TRIGGERS + kw.REQUIRES}
    missing = [name for name in every_keyword() - patterned if f"| `{name}` |" not in text]
    assert not missing
    assert "`pre_<action>`" in text and "`<action>_requires`" in text


def test_one_section(osvc_root):
    r = osvc(osvc_root, "keywords", "fs")
    assert r.returncode == 0 and r.stdout.startswith("## [fs#N]\n")
    assert "| `mnt` | str | yes |  | yes |  |" in r.stdout and "## [ip#N]" not in r.stdout


@pytest.mark.parametrize("section", ["nope"])
def test_an_unknown_section_is_a_usage_error(osvc_root, section):
    r = osvc(osvc_root, "keywords", section)
    assert r.returncode == 2 and r.stderr.startswith(f"osvc-engine: error: unknown section '{section}': use one of "
                                                     f"DEFAULT, resources, container")
