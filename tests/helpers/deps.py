"""A suite run never passes by skipping what its setup installs (issue 17, item 16).

Every skip for a missing tool says how to install it: its reason holds `apt-get install <package>` (the
package is in deps/debian-packages.txt, which `make test` and CI install from: tests/test_deps.py checks
both). Run as root with OSVC_REQUIRE_ALL=1 (CI: .ci/run sets it) or CI set, such a skip is a failure: the
setup should have installed that package, so the tests it skips are not allowed to disappear silently.
Other skips (this kernel cannot mount a tmpfs, LXC cannot start containers here) stay skips.
"""

import os

import pytest

REQUIRE_ENV = "OSVC_REQUIRE_ALL"
MISSING_PACKAGE = "apt-get install"     # what every skip for a missing package says: its fix


def required(environ=None, euid=None) -> bool:
    """Must every package of the list be there? As root (who can install them) in CI or when asked."""
    environ = os.environ if environ is None else environ
    euid = os.geteuid() if euid is None else euid
    asked = environ.get(REQUIRE_ENV) == "1" or environ.get("CI", "").lower() in ("1", "true", "yes")
    return euid == 0 and asked


def skip_reason(report) -> str:
    longrepr = report.longrepr
    return str(longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and required():
        reason = skip_reason(report)
        if MISSING_PACKAGE in reason:
            report.outcome = "failed"
            report.longrepr = (f"{reason}\n{REQUIRE_ENV}=1 (or CI) as root: this skip is for a package "
                               f"deps/debian-packages.txt lists; install them with `sh deps/install` (make test does)")
