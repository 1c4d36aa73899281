"""Issue 17 item 20, the README: every document it cites is in the repository, and it says how to run the engine
in a network namespace without losing its mounts."""

import re

from tests.helpers.paths import REPO

README = (REPO / "README.md").read_text()


def test_every_document_the_readme_cites_is_in_the_repository():
    cited = set(re.findall(r"[\w./-]+\.md\b", README))
    assert "docs/keywords.md" in cited and "docs/agent-reference.md" in cited
    assert [path for path in sorted(cited) if not (REPO / path).is_file()] == []


def test_section_citations_name_a_document_of_docs():
    for doc in re.findall(r"(\S+) §\d", README):
        assert doc.strip("(`") in {f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")}, doc


def test_network_namespaces_are_entered_with_nsenter_net():
    assert "nsenter --net=/run/netns/" in README
    assert "`ip netns exec` also gives the command a mount namespace of its own" in README
