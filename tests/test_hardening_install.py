"""Issue 17 item 17: a plain (non-editable) `pip install` of the repository holds every package, and its entry point
runs a command. The editable install of the development venv hides a missing package: this test installs a copy
of the working tree into a fresh venv and runs `osvc-engine` from there.

Offline: the runtime dependencies are the current venv's (PYTHONPATH; a .pth there, such as the editable install's,
is not read from PYTHONPATH), and the build uses the current venv's setuptools (--no-build-isolation) when it can
build a wheel by itself (setuptools >= 70.1, or the `wheel` package); otherwise pip gets the build requirements of
pyproject.toml from the configured index, as `pip install .` does.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PURELIB = sysconfig.get_paths()["purelib"]
# Not the product: the tests, the benchmarks and the simulated hypervisor commands the tests and the demo use.
TOOLING = ("tests", "bench", "simulators")
SKIP = shutil.ignore_patterns(".*", "__pycache__", "*.egg-info", "build", "dist", "demo-root", *TOOLING)


def repo_packages():
    """Every package of the repository (a folder holding __init__.py), dotted, the TOOLING excluded."""
    out = []
    for init in REPO.rglob("__init__.py"):
        rel = init.parent.relative_to(REPO)
        if rel.parts and not any(p.startswith(".") or p in (*TOOLING, "build") for p in rel.parts):
            out.append(".".join(rel.parts))
    return sorted(out)


def can_build_without_isolation() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def test_a_plain_pip_install_runs_a_command(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=SKIP)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {**os.environ, "PYTHONPATH": PURELIB, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    isolation = ["--no-build-isolation"] if can_build_without_isolation() else []
    res = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                          *isolation, str(src)], env=env, capture_output=True, text=True, timeout=600,
                         cwd=tmp_path, check=False)
    assert res.returncode == 0, res.stdout + res.stderr

    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          env=env, capture_output=True, text=True, check=True).stdout.strip()
    code = ("import importlib, sys\n"
            "for name in sys.argv[1:]:\n"
            "    print(name, importlib.import_module(name).__file__)\n")
    res = subprocess.run([str(python), "-c", code, "cli", *repo_packages()], env=env, capture_output=True,
                         text=True, cwd=tmp_path, check=False)
    assert res.returncode == 0, res.stderr
    outside = [line for line in res.stdout.splitlines() if not line.split(" ", 1)[1].startswith(site + "/")]
    assert outside == []                      # each package imported from the installed copy, none from the repo

    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    res = subprocess.run([str(venv / "bin" / "osvc-engine"), "-s", "x", "print", "status"], capture_output=True,
                         text=True, cwd=tmp_path, timeout=120,
                         env={**env, "OSVC_ROOT": str(root), "OSVC_NODENAME": "node1"}, check=False)
    assert (res.returncode, res.stdout) == (4, "")
    assert res.stderr.startswith("osvc-engine: error: unknown service 'x'"), res.stderr
