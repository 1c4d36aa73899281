"""Issue 17 item 16: one list of Debian packages (deps/debian-packages.txt) that `make demo`, `make test` and CI
install from (deps/install), and a suite run that never passes by skipping a test for one of them
(tests/helpers/deps.py)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers.deps import required
from tests.helpers.paths import REPO

LIST = REPO / "deps" / "debian-packages.txt"
INSTALL = REPO / "deps" / "install"


def packages(path=LIST):
    return [line.split("#", 1)[0].strip() for line in path.read_text().splitlines() if line.split("#", 1)[0].strip()]


def test_each_package_says_why_it_is_there():
    for line in LIST.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert "#" in line and line.split("#", 1)[1].strip(), line
    assert "postgresql" in packages()       # the collector's tests: initdb, pg_ctl, the postgres user


def test_every_package_a_skip_names_is_in_the_list():
    named = set()
    for path in (REPO / "tests").rglob("*.py"):
        if path.name == "test_deps.py":        # its own made-up packages
            continue
        for found in re.findall(r"apt-get install ([a-z0-9][a-z0-9 .+-]*)", path.read_text()):
            named.update(found.split())
    assert named and named <= set(packages()), sorted(named - set(packages()))


def test_ci_and_the_makefile_install_from_the_one_list():
    ci = (REPO / ".ci" / "run").read_text()
    assert "sh deps/install" in ci and "OSVC_REQUIRE_ALL=1 make test-all" in ci
    assert "apt-get" not in ci                 # no second list
    makefile = (REPO / "Makefile").read_text()
    assert "deps:\n\tsh deps/install\n" in makefile
    for target in ("test", "test-all", "demo"):
        assert re.search(rf"^{target}: deps \$\(STAMP\)$", makefile, re.MULTILINE), target


def install(listed, tmp_path, wrap=()):
    lst = tmp_path / "list.txt"
    lst.write_text("".join(f"{p}   # why\n" for p in listed))
    return subprocess.run([*wrap, "sh", str(INSTALL)], check=False, capture_output=True, text=True,
                          env={**os.environ, "OSVC_DEPS_LIST": str(lst)})


def test_an_unreadable_list_is_an_error_not_nothing_missing(tmp_path):
    r = subprocess.run(["sh", str(INSTALL)], check=False, capture_output=True, text=True,
                       env={**os.environ, "OSVC_DEPS_LIST": str(tmp_path / "absent.txt")})
    assert r.returncode == 1 and r.stderr.endswith(f"deps/install: cannot read {tmp_path}/absent.txt\n")


def test_nothing_missing_is_silent(tmp_path):
    r = install(["coreutils", "dpkg"], tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


@pytest.mark.root
def test_a_missing_package_stops_a_non_root_user_with_the_line_to_run(tmp_path):
    shared = tempfile.mkdtemp(prefix="osvc-deps-")       # one nobody can read (pytest's tmp_path is root's, 0700)
    try:
        os.chmod(shared, 0o755)
        r = install(["coreutils", "osvc-no-such-package", "dpkg", "osvc-no-such-either"], Path(shared),
                    wrap=("runuser", "-u", "nobody", "--"))
    finally:
        shutil.rmtree(shared)
    assert r.returncode == 1
    assert r.stderr == ("deps/install: missing Debian packages: osvc-no-such-package osvc-no-such-either. Run as "
                        "root: apt-get install -y --no-install-recommends osvc-no-such-package osvc-no-such-either\n")


INNER = """\
import pytest

def test_tool():
    pytest.skip("frobnicate is not installed (apt-get install frobnicate)")

def test_kernel():
    pytest.skip("cannot mount a tmpfs here")

@pytest.mark.skipif(True, reason="rsync missing (apt-get install rsync)")
def test_marked():
    pass
"""


def inner_run(tmp_path, **env):
    (tmp_path / "test_inner.py").write_text(INNER)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    environ = {k: v for k, v in os.environ.items() if k not in ("OSVC_REQUIRE_ALL", "CI")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.helpers.deps", "-p", "no:cacheprovider",
                           "-rA", "-q", str(tmp_path / "test_inner.py")], check=False, capture_output=True,
                          text=True,
                          cwd=tmp_path, env={**environ, "PYTHONPATH": str(REPO), **env})


@pytest.mark.root
def test_under_require_all_a_skip_for_a_missing_package_fails(tmp_path):
    r = inner_run(tmp_path, OSVC_REQUIRE_ALL="1")
    assert r.returncode == 1, r.stdout
    summary = r.stdout.splitlines()[-1]
    assert summary.startswith("1 failed, 1 skipped, 1 error"), r.stdout
    assert "FAILED test_inner.py::test_tool" in r.stdout and "ERROR test_inner.py::test_marked" in r.stdout
    assert "SKIPPED [1] test_inner.py:7: cannot mount a tmpfs here" in r.stdout


def test_without_it_they_are_skips(tmp_path):
    r = inner_run(tmp_path)
    assert r.returncode == 0 and r.stdout.splitlines()[-1].startswith("3 skipped"), r.stdout


def test_who_must_have_everything():
    assert required({"OSVC_REQUIRE_ALL": "1"}, euid=0) and required({"CI": "true"}, euid=0)
    assert not required({"OSVC_REQUIRE_ALL": "1"}, euid=1000)     # a user cannot install: skips stay skips
    assert not required({}, euid=0)
