"""`sg_persist` (sg3_utils): SCSI-3 persistent reservations on simulated shared LUNs.

The SAN is one JSON file, `$OSVC_SIM_STATE/san/luns.json`: per device path its INQUIRY identity,
PR generation, registrations (one per initiator, i.e. per simulated node: the caller is the node the
CLI runs on, `OSVC_SIM_NODE` / `OSVC_NODENAME`) and the reservation (holder node, key, type).
A device exists when it was defined (`define`) or when a simulated VM lists it among its disks
(`vmsim define ... --disk /dev/sdb`): a VM's backing disk is a LUN of the shared SAN.

Commands and outputs are sg3_utils' (sg_persist 0.67):
    sg_persist [-n] -k|-r DEV                       PR In: Read keys / Read reservation
    sg_persist [-n] --out --register-ignore|--register|--reserve|--release|--clear
               |--preempt|--preempt-abort [--param-rk=K] [--param-sark=K] [--prout-type=T] DEV
Exit statuses: 5 Illegal request (`... (perhaps unsupported service action)`), 6 Unit attention,
24 Reservation conflict, 52 device missing (`error opening file`), 1 syntax error.

Admin (what a SAN administrator would do), `python -m simulators.sg_persist ...` or from Python:
    define DEV [--vendor V] [--product P] [--unsupported]   a LUN (unsupported: PR In/Out refused)
    attention DEV N                                          the next N commands report Unit Attention
    show DEV                                                 the LUN's record (JSON)
    rm DEV
"""

import argparse
import json
import os
import sys

from simulators import core

# sg3_utils exit statuses (sg_lib.h) and the strings sg_exit2str prints for them
ILLEGAL_REQ, UNIT_ATTENTION, RES_CONFLICT, SYNTAX = 5, 6, 24, 1
ENOENT_EXIT = 50 + 2          # SG_LIB_OS_BASE_ERR + ENOENT
EXIT_TEXT = {ILLEGAL_REQ: "Illegal request", UNIT_ATTENTION: "Unit attention",
             RES_CONFLICT: "Reservation conflict"}

PR_TYPES = {1: "Write Exclusive", 3: "Exclusive Access", 5: "Write Exclusive, registrants only",
            6: "Exclusive Access, registrants only", 7: "Write Exclusive, all registrants",
            8: "Exclusive Access, all registrants"}
PRIN_NAMES = {"k": "Read keys", "r": "Read reservation"}
PROUT_NAMES = {"register": "Register", "reserve": "Reserve", "release": "Release", "clear": "Clear",
               "preempt": "Preempt", "preempt-abort": "Preempt and abort",
               "register-ignore": "Register and ignore existing key"}

# option -> (kind, value): PR In service actions, PR Out service actions, parameters
LONG = {"read-keys": ("in", "k"), "read_keys": ("in", "k"), "read-reservation": ("in", "r"),
        "read_reservation": ("in", "r"), "register": ("out", "register"),
        "register-ignore": ("out", "register-ignore"), "register_ignore": ("out", "register-ignore"),
        "reserve": ("out", "reserve"), "release": ("out", "release"), "clear": ("out", "clear"),
        "preempt": ("out", "preempt"), "preempt-abort": ("out", "preempt-abort"),
        "preempt_abort": ("out", "preempt-abort"), "out": ("flag", "out"), "in": ("flag", "in"),
        "no-inquiry": ("flag", "n"), "no_inquiry": ("flag", "n"),
        "param-rk": ("param", "rk"), "param_rk": ("param", "rk"), "param-sark": ("param", "sark"),
        "param_sark": ("param", "sark"), "prout-type": ("param", "type"), "prout_type": ("param", "type"),
        "device": ("param", "device")}
SHORT = {"k": ("in", "k"), "r": ("in", "r"), "G": ("out", "register"), "I": ("out", "register-ignore"),
         "R": ("out", "reserve"), "L": ("out", "release"), "C": ("out", "clear"), "P": ("out", "preempt"),
         "A": ("out", "preempt-abort"), "o": ("flag", "out"), "i": ("flag", "in"), "n": ("flag", "n"),
         "K": ("param", "rk"), "S": ("param", "sark"), "T": ("param", "type"), "d": ("param", "device")}


# --- the SAN state ------------------------------------------------------------------------------
def _path():
    return core.state_dir() / "san" / "luns.json"


def load_luns() -> dict:
    try:
        return json.loads(_path().read_text())
    except FileNotFoundError:
        return {}


def save_luns(luns: dict) -> None:
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(luns, indent=1, sort_keys=True))
    os.replace(tmp, path)


def new_lun(vendor="OSVCSIM", product="shared-lun", rev="0001", unsupported=False) -> dict:
    return {"vendor": vendor, "product": product, "rev": rev, "generation": 0, "registrations": {},
            "reservation": None, "unit_attention": 0, "unsupported": unsupported}


def _vm_disks() -> set:
    """Every disk a simulated VM lists: each is a LUN of the shared SAN."""
    disks = set()
    root = core.state_dir()
    for path in root.glob("*/*.json"):
        if path.parent.name == "san":
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("disks"), list):
            disks.update(str(d) for d in record["disks"])
    return disks


def lookup(luns: dict, dev: str) -> dict | None:
    lun = luns.get(dev)
    if lun is None and dev in _vm_disks():
        lun = luns[dev] = new_lun()
    return lun


# --- command line -------------------------------------------------------------------------------
class Usage(core.SimError):
    def __init__(self, message):
        super().__init__(message, SYNTAX)


def parse(argv):
    """getopt_long-like: long options with = or a separate value, bundled short flags."""
    opts = {"in": [], "out": [], "flags": set(), "params": {}, "args": []}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":                 # getopt_long: the end of the options, the rest are operands
            opts["args"].extend(argv[i + 1:])
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            if name not in LONG:
                raise Usage(f"sg_persist: unrecognized option '{arg}'")
            kind, what = LONG[name]
            if kind == "param":
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise Usage(f"sg_persist: option '--{name}' requires an argument")
                    value = argv[i]
                opts["params"][what] = value
            elif kind == "flag":
                opts["flags"].add(what)
            else:
                opts[kind].append(what)
        elif arg.startswith("-") and len(arg) > 1:
            letters = arg[1:]
            for j, letter in enumerate(letters):
                if letter not in SHORT:
                    raise Usage(f"sg_persist: invalid option -- '{letter}'")
                kind, what = SHORT[letter]
                if kind == "param":
                    value = letters[j + 1:]
                    if not value:
                        i += 1
                        if i >= len(argv):
                            raise Usage(f"sg_persist: option requires an argument -- '{letter}'")
                        value = argv[i]
                    opts["params"][what] = value
                    break
                if kind == "flag":
                    opts["flags"].add(what)
                else:
                    opts[kind].append(what)
        else:
            opts["args"].append(arg)
        i += 1
    return opts


def _hex(params, name, option):
    text = params.get(name, "0")
    try:
        return int(text, 16)
    except ValueError:
        raise Usage(f"bad argument to '--{option}'") from None


def main(argv):
    opts = parse(argv)
    dev = opts["params"].get("device") or (opts["args"][0] if opts["args"] else None)
    if len(opts["args"]) > (0 if opts["params"].get("device") else 1):
        raise Usage(f"Unexpected extra argument: {opts['args'][-1]}")
    if dev is None:
        raise Usage("No device name given")
    want_out = "out" in opts["flags"]
    if want_out and "in" in opts["flags"]:
        raise core.SimError("choose '--in' _or_ '--out' (not both)", 11)
    if want_out and (len(opts["out"]) != 1 or opts["in"]):
        raise core.SimError(">> For Persistent Reserve Out one and only one appropriate\n"
                            ">> service action must be chosen (e.g. '--register')", 11)
    if not want_out and opts["out"]:
        raise core.SimError(">> When a service action for Persistent Reserve Out is chosen the\n"
                            ">> '--out' option must be given (as a safeguard)", 11)
    if len(opts["in"]) > 1:
        raise core.SimError("Too many service actions given; choose one only", 11)
    params = opts["params"]
    rk, sark = _hex(params, "rk", "param-rk"), _hex(params, "sark", "param-sark")
    prtype = _hex(params, "type", "prout-type")

    luns = load_luns()
    lun = lookup(luns, dev)
    mode = "w" if want_out or not os.environ.get("SG_PERSIST_IN_RDONLY") else "o"
    if lun is None:
        raise core.SimError(f"sg_persist: error opening file {dev} (r{mode}): No such file or directory",
                            ENOENT_EXIT)
    out = []
    if "n" not in opts["flags"]:
        out += [f"  {lun['vendor']:<8.8}  {lun['product']:<16.16}  {lun['rev']:<4.4}",
                "  Peripheral device type: disk"]
    what = opts["out"][0] if want_out else (opts["in"][0] if opts["in"] else "k")
    label = f"PR out ({PROUT_NAMES[what]})" if want_out else f"PR in ({PRIN_NAMES[what]})"
    try:
        if lun["unit_attention"] > 0:      # a pending unit attention fails the next command, once
            lun["unit_attention"] -= 1
            raise _Fail(UNIT_ATTENTION)
        if lun["unsupported"]:
            raise _Fail(ILLEGAL_REQ)
        if want_out:
            prout(lun, what, core.node_name(), rk, sark, prtype)
        else:
            out += prin(lun, what)
    except _Fail as exc:
        save_luns(luns)
        _print(out)
        if exc.rc == ILLEGAL_REQ:
            detail = "bad field in cdb or parameter list (perhaps unsupported service action)"
        else:
            detail = EXIT_TEXT[exc.rc]
        print(f"{label}: {detail}\nsg_persist failed: {EXIT_TEXT[exc.rc]}", file=sys.stderr)
        return exc.rc
    save_luns(luns)
    _print(out)
    return 0


def _print(lines):
    if lines:
        print("\n".join(lines))


class _Fail(Exception):
    def __init__(self, rc):
        super().__init__(rc)
        self.rc = rc


# --- SPC-3 persistent reservation semantics ----------------------------------------------------------
def prin(lun, what) -> list:
    gen = f"  PR generation=0x{lun['generation']:x}, "
    if what == "k":
        keys = list(lun["registrations"].values())
        if not keys:
            return [gen + "there are NO registered reservation keys"]
        head = "1 registered reservation key follows:" if len(keys) == 1 else \
            f"{len(keys)} registered reservation keys follow:"
        return [gen + head] + [f"    0x{k:x}" for k in keys]
    res = lun["reservation"]
    if res is None:
        return [gen + "there is NO reservation held"]
    return [gen + "Reservation follows:", f"    Key=0x{res['key']:x}",
            f"    scope: LU_SCOPE,  type: {PR_TYPES.get(res['type'], 'obsolete [%d]' % res['type'])}"]


def prout(lun, what, me, rk, sark, prtype):
    regs, res = lun["registrations"], lun["reservation"]
    mine = regs.get(me)
    if what in ("register", "register-ignore"):
        if what == "register" and (mine or 0) != rk:
            raise _Fail(RES_CONFLICT)            # register needs the current key; -ignore does not
        if sark == 0:                            # unregister: a registrants-only holder releases
            if mine is not None:
                del regs[me]
                if res and res["node"] == me:
                    lun["reservation"] = None
                lun["generation"] += 1
            return
        regs[me] = sark
        if res and res["node"] == me:
            res["key"] = sark
        lun["generation"] += 1
        return
    if mine is None or mine != rk:               # every other PR Out needs our registered key
        raise _Fail(RES_CONFLICT)
    if what == "reserve":
        if res is None:
            lun["reservation"] = {"node": me, "key": rk, "type": prtype}
        elif res["node"] != me or res["type"] != prtype:
            raise _Fail(RES_CONFLICT)
    elif what == "release":
        if res is not None and res["node"] == me:
            if res["type"] != prtype:
                raise _Fail(ILLEGAL_REQ)         # RELEASE OF INVALID TYPE
            lun["reservation"] = None
    elif what == "clear":
        lun["registrations"], lun["reservation"] = {}, None
        lun["generation"] += 1
    elif what in ("preempt", "preempt-abort"):
        gone = [node for node, key in regs.items() if key == sark and node != me]
        for node in gone:
            del regs[node]
        if res is not None and res["key"] == sark:
            lun["reservation"] = {"node": me, "key": rk, "type": prtype}
        elif not gone:
            raise _Fail(RES_CONFLICT)            # no registrant holds that key
        lun["generation"] += 1


# --- admin ----------------------------------------------------------------------------------------
def define(dev, vendor="OSVCSIM", product="shared-lun", unsupported=False):
    luns = load_luns()
    luns[dev] = new_lun(vendor=vendor, product=product, unsupported=unsupported)
    save_luns(luns)


def attention(dev, count):
    luns = load_luns()
    lun = lookup(luns, dev)
    if lun is None:
        raise core.SimError(f"san: no lun {dev}", 4)
    lun["unit_attention"] = int(count)
    save_luns(luns)


def show(dev) -> dict | None:
    luns = load_luns()
    return lookup(luns, dev)


def admin_main(argv):
    p = argparse.ArgumentParser(prog="python -m simulators.sg_persist", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("define")
    d.add_argument("dev")
    d.add_argument("--vendor", default="OSVCSIM")
    d.add_argument("--product", default="shared-lun")
    d.add_argument("--unsupported", action="store_true")
    a = sub.add_parser("attention")
    a.add_argument("dev")
    a.add_argument("count", type=int)
    for name in ("show", "rm"):
        sub.add_parser(name).add_argument("dev")
    args = p.parse_args(argv)
    if args.cmd == "define":
        define(args.dev, args.vendor, args.product, args.unsupported)
    elif args.cmd == "attention":
        attention(args.dev, args.count)
    elif args.cmd == "show":
        lun = show(args.dev)
        if lun is None:
            raise core.SimError(f"san: no lun {args.dev}", 4)
        print(json.dumps(lun, indent=1, sort_keys=True))
    elif args.cmd == "rm":
        luns = load_luns()
        if luns.pop(args.dev, None) is None:
            raise core.SimError(f"san: no lun {args.dev}", 4)
        save_luns(luns)
    return 0


if __name__ == "__main__":
    sys.exit(core.run(admin_main))
