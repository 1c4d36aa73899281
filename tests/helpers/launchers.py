"""The launcher service many engine tests drive: `web`, 1.8 launchers app#1..3 (a, b, c), each
keeping its state in a real file; `<name>.fail` makes its start fail.

    @pytest.fixture
    def svc(osvc_root):
        return launcher_service(osvc_root)      # -> the state folder
"""

from tests.helpers.cli import write_launcher

SCRIPT = """\
f="{state}/{name}"
case "$1" in
  start) [ -e "$f.fail" ] && {{ echo "{name} cannot start" >&2; exit 1; }}; touch "$f" ;;
  stop) rm -f "$f" ;;
  status) [ -e "$f" ] ;;
esac
"""


def launcher_service(root, svc="web", names="abc"):
    state = root / "state"
    state.mkdir()
    lines = ["[DEFAULT]", "nodes = node1", ""]
    for i, name in enumerate(names, 1):
        write_launcher(root / "etc" / f"{svc}.d" / name, SCRIPT.format(state=state, name=name))
        lines += [f"[app#{i}]", f"script = {name}", f"start = {i}0", f"stop = {i}0", f"check = {i}0", ""]
    (root / "etc" / f"{svc}.env").write_text("\n".join(lines))
    return state


def running(state):
    """The launchers whose state file says started."""
    return sorted(p.name for p in state.iterdir() if "." not in p.name)
