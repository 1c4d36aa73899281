"""`osvc-engine machines`: formats, errors, and docs/machines.md generated from it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from machines import cli, defs
from tests.helpers.cli import run
from tests.helpers.paths import REPO


def test_text_format_for_one_kind(capsys):
    rc, out, _ = run(capsys, "machines", "resource")
    assert rc == 0
    assert out == """\
resource: a simple resource (ip, disk, fs, share, app, sync): one command starts it, one stops it
  families   ip, disk, fs, share, app, sync
  initial    down
  stable     down, up, start-failed, stop-failed
  transient  starting, stopping
  transitions (trigger  from -> to; * = any state)
    start                 down, up, start-failed, stop-failed -> starting
    started               starting -> up
    start_failed          starting -> start-failed
    stop                  down, up, start-failed, stop-failed -> stopping
    stopped               stopping -> down
    stop_failed           stopping -> stop-failed
    observed_up           down, start-failed, stop-failed -> up
    observed_down         up, start-failed, stop-failed -> down
    recover_down          * -> down
    recover_up            * -> up
    recover_start_failed  * -> start-failed
    recover_stop_failed   * -> stop-failed
"""


def test_a_family_name_selects_its_kind(capsys):
    assert run(capsys, "machines", "fs")[1] == run(capsys, "machines", "resource")[1]


def test_mermaid_format(capsys):
    rc, out, _ = run(capsys, "machines", "hb", "--format", "mermaid")
    assert out == """\
stateDiagram-v2
    %% hb: an HA heartbeat resource (e.g. hb.ovm): enable or disable the clusterware's HA on the service
    state "ha-disabled" as ha_disabled
    state "ha-enabled" as ha_enabled
    state "ha-failed" as ha_failed
    state "ha-enabling" as ha_enabling
    state "ha-disabling" as ha_disabling
    [*] --> ha_disabled
    ha_disabled --> ha_enabling : enable
    ha_enabled --> ha_enabling : enable
    ha_failed --> ha_enabling : enable
    ha_enabling --> ha_enabled : enabled
    ha_enabling --> ha_failed : enable_failed
    ha_disabled --> ha_disabling : disable
    ha_enabled --> ha_disabling : disable
    ha_failed --> ha_disabling : disable
    ha_disabling --> ha_disabled : disabled
    ha_disabling --> ha_failed : disable_failed
    ha_disabled --> ha_enabled : observed_up
    ha_failed --> ha_enabled : observed_up
    ha_enabled --> ha_disabled : observed_down
    ha_failed --> ha_disabled : observed_down
    note right of ha_disabled : recover_ha_disabled from any state
    note right of ha_enabled : recover_ha_enabled from any state
    note right of ha_failed : recover_ha_failed from any state
"""


def test_json_format_is_the_tables(capsys):
    rc, out, _ = run(capsys, "machines", "--format", "json")
    doc = json.loads(out)
    assert list(doc) == list(defs.KINDS)
    for kind, m in doc.items():
        mdef = defs.machine_def(kind)
        assert m["initial"] == mdef.initial and m["states"] == list(mdef.states)
        assert [(t["trigger"], t["sources"], t["dest"]) for t in m["transitions"]] == [
            (t, [defs.ANY] if s == defs.ANY else list(s), d) for t, s, d in mdef.rows]
    assert doc["container"]["families"] == ["container"]
    assert doc["service"]["families"] == []


def test_unknown_kind_lists_the_kinds():
    from core.errors import UsageError

    with pytest.raises(UsageError, match=r"unknown machine kind 'vm': use one of container, hb, resource, encap, service"):
        cli.main(["vm"])


def test_command_line_and_help():
    exe = Path(sys.executable).parent / "osvc-engine"
    out = subprocess.run([exe, "machines", "bogus"], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.startswith("osvc-engine: error: unknown machine kind 'bogus'")
    helped = subprocess.run([exe, "machines", "--help"], capture_output=True, text=True, check=True)
    assert "osvc-engine machines fs --format mermaid" in helped.stdout


def test_docs_are_generated_from_the_command(capsys):
    rc, out, _ = run(capsys, "machines", "--format", "markdown")
    assert (REPO / "docs" / "machines.md").read_text() == out, \
        "docs/machines.md drifted: regenerate with `osvc-engine machines --format markdown > docs/machines.md`"
