"""Issue 17 item 18: `print status --from FILE` renders a saved document (a peer's, a postmortem's) on a node
where no service exists: nothing local is looked up."""

import json

import pytest

from tests.helpers.cli import osvc
from tests.helpers.paths import DATA

DOC = DATA / "status" / "deb1.json"
TREE = (DATA / "status" / "deb1.txt").read_text()


@pytest.fixture
def bare_root(tmp_path):
    """A node root where nothing was ever set up: no etc/, no var/."""
    return tmp_path / "nothing-here"


@pytest.mark.parametrize("selection", [(), ("-s", "deb1.opensvc.com"), ("-s", "not-a-service-here")])
def test_a_saved_document_renders_without_any_local_service(bare_root, selection):
    r = osvc(bare_root, *selection, "print", "status", "--from", str(DOC))
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == TREE
    assert not bare_root.exists()             # read only: nothing made on the node


def test_json_status_from_a_saved_document_too(bare_root):
    r = osvc(bare_root, "json", "status", "--from", str(DOC))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == json.loads(DOC.read_text())


def test_other_actions_still_need_their_service(bare_root):
    r = osvc(bare_root, "-s", "web", "start", "--from", str(DOC))
    assert r.returncode == 4 and "unknown service 'web'" in r.stderr
