"""Config commands: validate config, print config, get, set, unset, create, delete.

Every write goes through config.build.write_env (atomic, the journaling hook) and only after the new text
has been built and validated for this node: a file that would not load is never written.
"""

import json
import os
import shutil
import sys

from config import build as cfg, edit
from config.ini import parse
from config.values import as_text
from core.errors import ConfigError, NotFound, OsvcError, UsageError


def _param(request) -> tuple[str, str]:
    param = request.param
    if not param:
        raise UsageError(f"{request.action}: give the keyword with --param SECTION.KEY (SECTION. omitted = DEFAULT), "
                         f"e.g. --param ip#1.ipname")
    section, key = edit.split_param(param)
    if not key or key.startswith("@"):
        raise UsageError(f"--param {param}: no keyword name (expected SECTION.KEY)")
    return section, key


def _check_text(node, svc, text, path, doing) -> None:
    """Refuse (ConfigError, nothing written) when `text` would not load on this node."""
    _, problems = cfg.build(node, svc, text, path, whole_file=True)
    fatal = [p for p in problems if p.fatal]
    if fatal:
        for p in fatal[1:]:
            print(p, file=sys.stderr)
        more = f" ({len(fatal)} problems)" if len(fatal) > 1 else ""
        hint = ""
        if "missing required keyword" in fatal[0].message and doing.startswith("set"):
            hint = " (set a new section's keywords together: set --kw S.K=V --kw S.K2=V2)"
        raise ConfigError(f"{doing} refused, {path} unchanged{more}: {fatal[0]}{hint}")


# ---- read-only -------------------------------------------------------------------------------------------

def validate_config(node, svc, request) -> int:
    """Print every problem as `<file>:<line>: [<section>] <keyword>: <message>`; 0 only when clean, and then
    one line that says so (silence read as "did it even run?")."""
    problems = cfg.validate(node, svc)
    for p in problems:
        print(p)
    if not problems:
        print(f"{node.env_file(svc)}: valid, no problem found")
    return ConfigError.exit_code if problems else 0


def print_config(node, svc, request) -> int:
    path, text = cfg.read_env(node, svc)
    if request.format == "json":
        env = parse(text, str(path))
        doc = {name: {k: o.value for k, o in sec.options.items()}
               for name, sec in env.sections.items()}
        print(json.dumps(doc, indent=2))
    else:
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    return 0


def get(node, svc, request) -> int:
    section, key = _param(request)
    if request.eval:
        print(as_text(evaluated(node, svc, section, key)))
        return 0
    path, text = cfg.read_env(node, svc)
    env = parse(text, str(path))
    if section not in env.sections:
        raise NotFound(f"no section [{section}] in {path} (sections: {', '.join(env.sections)})")
    # ConfigParser semantics: a section's keyword falls back to DEFAULT's
    for sec in (env.sections[section], env.sections["DEFAULT"]):
        if key in sec.options:
            print(sec.options[key].value)
            return 0
    raise NotFound(f"{section}.{key} is not set in {path}")


def evaluated(node, svc, section, key):
    """The value of section.key as this node sees it (scoping, references, type, default)."""
    from config import keywords as kwt

    if "@" in key:
        raise UsageError(f"--eval reads the value this node sees: give {key.split('@')[0]} without @scope")
    spec = cfg.load_service(node, svc)
    if section == "DEFAULT":
        canonical = kwt.default_keywords().get(key)
        key = canonical.alias_of or key if canonical else key
        if key not in spec.default:
            raise UsageError(f"{key}: unknown DEFAULT keyword")
        return spec.default[key]
    try:
        res = spec.resource(section)
    except KeyError:
        res = None
    if res is not None:
        if key not in res.conf:
            raise UsageError(f"{key}: unknown keyword for [{section}] ({res.family}"
                             f"{'.' + res.type if res.type else ''})")
        return res.conf[key]
    return cfg.evaluate_reference(node, svc, section, key)   # [env], [subset#...]


# ---- writes ----------------------------------------------------------------------------------------------

def _kw_items(request) -> list[tuple[str, str, str]]:
    """--kw SECTION.KEY=VALUE items -> [(section, key, value)]."""
    out = []
    for item in request.kw or []:
        param, eq, value = item.partition("=")
        if not eq or not param.strip():
            raise UsageError(f"--kw {item}: expected SECTION.KEY=VALUE")
        out.append((*edit.split_param(param.strip()), value.strip()))
    return out


def set_(node, svc, request) -> int:
    """--param S.K --value V, and/or --kw S.K=V (repeatable: a new section's required keywords at once)."""
    changes = _kw_items(request)
    if request.param or not changes:
        section, key = _param(request)
        value = request.value
        if value is None:
            raise UsageError("set: give the new value with --value V (use unset to remove a keyword)")
        changes.insert(0, (section, key, value))
    path, text = cfg.read_env(node, svc)
    new = text
    for section, key, value in changes:
        new = edit.set_option(new, section, key, value)
    what = ", ".join(f"{s}.{k}" for s, k, _ in changes)
    _check_text(node, svc, new, path, f"set {what}")
    edit.write_env(node, svc, new)
    return 0


def unset(node, svc, request) -> int:
    section, key = _param(request)
    path, text = cfg.read_env(node, svc)
    new, found = edit.unset_option(text, section, key)
    if not found:
        print(f"{section}.{key} is not set in {path}: nothing to do", file=sys.stderr)
        return 0
    _check_text(node, svc, new, path, f"unset {section}.{key}")
    edit.write_env(node, svc, new)
    return 0


def print_config_mtime(node, svc, request) -> int:
    """The env file's mtime, as 1.x's `print config mtime` (a host's push compares it with its own)."""
    print(os.stat(node.env_file(svc)).st_mtime)
    return 0


def create(node, svc, request) -> int:
    """Install an env file. --force replaces an existing one (push sends the host's copy so);
    --mtime sets its modification time (push keeps the newest copy's time)."""
    path = node.env_file(svc)
    if path.exists() and not request.force:
        raise OsvcError(f"service '{svc}' already exists ({path}): change it with set/unset, delete it first, "
                        "or replace it with --force")
    text = ""
    source = request.config
    if source:
        try:
            text = sys.stdin.read() if source == "-" else open(source).read()
        except OSError as exc:
            raise UsageError(f"--config {source}: {exc.strerror}") from None
    for section, key, value in _kw_items(request):
        text = edit.set_option(text, section, key, value)
    if not text.strip():
        text = "[DEFAULT]\n"
    _check_text(node, svc, text, path, f"create {svc}")
    written = edit.write_env(node, svc, text)
    if request.mtime is not None:
        os.utime(written, (request.mtime, request.mtime))
    print(f"created {written}")
    return 0


def delete(node, svc, request) -> int:
    """Remove the env file(s), the launcher folder and the status caches; print each removed path."""
    targets = [node.etc / f"{svc}.env", node.etc / f"{svc}.conf", node.launchers_dir(svc), node.svc_var(svc)]
    for path in targets:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        print(f"removed {path}")
    return 0
