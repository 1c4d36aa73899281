"""Issue 17, driver side: tolerated rcs journaled (item 15), `--` before operands and a start checked after
acting (item 5), no unmount/fuser -k of a system mount point at stop (item 6)."""

import pytest

from drivers.runner import CommandError, Runner


@pytest.fixture
def events():
    return []


def test_the_runner_journals_whether_a_nonzero_rc_was_tolerated(events):
    runner = Runner(sink=events.append)
    runner.run(["sh", "-c", "exit 1"], check=False)
    with pytest.raises(CommandError):
        runner.run(["sh", "-c", "exit 2"])
    runner.run(["true"])
    tolerated, failed, ok = (e["payload"] for e in events)
    assert tolerated["rc"] == 1 and tolerated["tolerated"] is True
    assert failed["rc"] == 2 and failed["tolerated"] is False
    assert "tolerated" not in ok or ok["tolerated"] is False
