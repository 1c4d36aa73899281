"""The engine's input: one frozen ActionRequest per (command, service), whoever asks.

    req = ActionRequest("start", argv=("osvc-engine", "-s", "web", "start"), rid="ip#1")
    req.with_(force=True)                      # a copy: a request never changes once built

Built by cli.py (`request_from`, from argparse's namespace: the only place argparse is seen), by
the restart policy (engine/restart.py), by `recover --resume` (engine/resume.py, from the
interrupted action's begin record: `from_begin`), and by the aliases (scsireserv -> prstart, json
status -> print status --format json) as copies.

The fields an action's outcome depends on (JOURNALED) are journaled in its `begin` record, under
`request`, so a resumed action is the same action. Journals written before that carry only the
command line: `from_argv` reads those.
"""

from core.errors import UsageError
from core.record import Record, replace


class ActionRequest(Record, frozen=True):
    action: str                    # the action words: "start", "print status", "switch"...
    argv: tuple = ()               # the command line, journaled with the action (begin, refused)
    # --- resource selection
    rid: str | None = None         # resource ids or families, comma separated
    tags: str | None = None        # a,b: either; a+b: both
    subsets: str | None = None
    master: bool = False
    slave: str | None = None
    slaves: bool = False
    # --- action control
    cluster: bool = False          # act as the clusterware (hb-driven services)
    waitlock: float | None = None  # seconds to wait for the lock; None: DEFAULT.lock_timeout, else 60
    dry_run: bool = False
    force: bool = False
    disable_rollback: bool = False
    to: str | None = None          # switch/migrate destination
    refresh: bool = False          # status: evaluate instead of reading the cache
    resume: bool = False           # recover: re-run the interrupted action afterwards
    resumes: str = ""              # the interrupted action's id this one re-runs (recover --resume)
    # --- output
    format: str = "text"           # text | json
    color: str = "auto"            # auto | yes | no
    from_file: str | None = None   # print status: render a saved document
    show_disabled: bool | None = None
    # --- config commands
    param: str | None = None
    value: str | None = None
    eval: bool = False
    config: str | None = None
    kw: tuple = ()
    mtime: float | None = None     # create: the env file's modification time (push)

    def with_(self, **changes) -> "ActionRequest":
        """A copy with some fields changed (an alias, a resumed or restarted action)."""
        return replace(self, **changes)

    def journaled(self) -> dict:
        """The JOURNALED fields that differ from their default: the `request` of a begin record."""
        return {f: getattr(self, f) for f in JOURNALED if getattr(self, f) != self._defaults[f]}

    @classmethod
    def from_begin(cls, begin: dict, resumes: str = "") -> "ActionRequest":
        """The request of the action a begin record payload opened (to run it again)."""
        argv = tuple(begin.get("argv") or ())
        if "request" in begin:
            fields = {k: v for k, v in begin["request"].items() if k in JOURNALED}
        else:                                       # journaled before the request was
            fields = from_argv(argv)
        action = begin.get("action") or fields.get("action", "")
        return cls(action=action, argv=argv, resumes=resumes, **{k: v for k, v in fields.items() if k != "action"})


# What decides an action's effect (not how it is shown): journaled, and read back by from_begin.
JOURNALED = ("rid", "tags", "subsets", "master", "slave", "slaves", "cluster", "waitlock", "force",
             "disable_rollback", "to")

# The command line's options (cli.build_parser) as a journal written before `request` spells them:
# option -> field (None: read and ignored), and whether it takes a value.
_OPTIONS = {
    "-s": (None, True), "--service": (None, True), "--rid": ("rid", True), "--tags": ("tags", True),
    "--subsets": ("subsets", True), "--master": ("master", False), "--slave": ("slave", True),
    "--slaves": ("slaves", False), "--cluster": ("cluster", False), "--waitlock": ("waitlock", True),
    "--dry-run": ("dry_run", False), "--force": ("force", False),
    "--disable-rollback": ("disable_rollback", False), "--to": ("to", True), "--refresh": (None, False),
    "--resume": (None, False), "--format": (None, True), "--color": (None, True), "--from": (None, True),
    "--show-disabled": (None, False), "--hide-disabled": (None, False), "--param": (None, True),
    "--value": (None, True), "--eval": (None, False), "--config": (None, True), "--kw": (None, True),
    "--mtime": (None, True),
}


def from_argv(argv) -> dict:
    """{field: value} of a journaled command line `osvc-engine -s SVC [options] ACTION WORDS`, with
    the action words under "action". Options as argparse took them: `--opt value`, `--opt=value`,
    a unique prefix (`--disable`), `-sSVC`."""
    fields, words = {}, []
    items = list(argv[1:])
    while items:
        item = items.pop(0)
        if not item.startswith("-"):
            words.append(item)
            continue
        if len(item) > 2 and item[1] != "-":            # -sweb: a short option and its value
            name, eq, value = item[:2], "=", item[2:]
        else:
            name, eq, value = item.partition("=")
        known = [o for o in _OPTIONS if o == name] or [o for o in _OPTIONS if o.startswith(name) and len(name) > 2]
        if len(known) != 1:
            raise UsageError(f"can not read the journaled command line {' '.join(argv)}: option {name}")
        field, takes_value = _OPTIONS[known[0]]
        if takes_value and not eq:
            if not items:
                raise UsageError(f"can not read the journaled command line {' '.join(argv)}: {name} needs a value")
            value = items.pop(0)
        if field is not None:
            fields[field] = (float(value) if field == "waitlock" else value) if takes_value else True
    fields["action"] = " ".join(words)
    return fields
