"""`vmsim`: the simulation's admin tool (what a lab technician would do on the real hypervisors).

    vmsim define TECH NAME [--id ID] [--node N] [--running] [--boot S] [--shutdown S] [--autoboot]
                 [--disk DEV]... [--set KEY=VALUE]...
    vmsim fail TECH NAME ACTION=MODE...        (see simulators.core: start=hang, stop=fail, ssh=refuse...)
    vmsim show TECH NAME                       (the VM's JSON record, settled to now)
    vmsim list [TECH]                          (tech id name node state)
    vmsim rm TECH NAME
    vmsim ovm-manager --user NAME=PASSWORD... --server NODE=POOL...   (the simulated OVM manager)
"""

import argparse
import json

from simulators import core


def _parser():
    p = argparse.ArgumentParser(prog="vmsim", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("define")
    d.add_argument("tech")
    d.add_argument("name")
    d.add_argument("--id")
    d.add_argument("--node")
    d.add_argument("--running", action="store_true")
    d.add_argument("--boot", type=float)
    d.add_argument("--shutdown", type=float)
    d.add_argument("--autoboot", action="store_true")
    d.add_argument("--disk", action="append", default=[])
    d.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    f = sub.add_parser("fail")
    f.add_argument("tech")
    f.add_argument("name")
    f.add_argument("modes", nargs="+", metavar="ACTION=MODE")
    for cmd in ("show", "rm"):
        s = sub.add_parser(cmd)
        s.add_argument("tech")
        s.add_argument("name")
    m = sub.add_parser("ovm-manager")
    m.add_argument("--user", action="append", default=[], metavar="NAME=PASSWORD")
    m.add_argument("--server", action="append", default=[], metavar="NODE=POOL")
    ls = sub.add_parser("list")
    ls.add_argument("tech", nargs="?")
    return p


def _pairs(items):
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise core.SimError(f"vmsim: expected KEY=VALUE, got {item!r}", 2)
        out[key] = value
    return out


def _get(tech, name):
    vm = core.find(tech, name)
    if vm is None:
        raise core.SimError(f"vmsim: no {tech} vm named {name}", 4)
    return vm


def main(argv):
    args = _parser().parse_args(argv)
    if args.cmd == "define":
        fields = {"extra": _pairs(args.set), "disks": args.disk, "autoboot": args.autoboot}
        if args.node:
            fields["node"] = args.node
        for key in ("boot", "shutdown"):
            if getattr(args, key) is not None:
                fields[key] = getattr(args, key)
        vm = core.new_vm(args.tech, args.id or args.name, args.name, **fields)
        if args.running:
            vm["state"], vm["since"] = "running", 0
        core.save(vm)
        core.settle(vm)
    elif args.cmd == "fail":
        vm = _get(args.tech, args.name)
        vm["fail"].update({k: v for k, v in _pairs(args.modes).items()})
        vm["fail"] = {k: v for k, v in vm["fail"].items() if v not in ("", "none")}
        core.save(vm)
    elif args.cmd == "show":
        print(json.dumps(_get(args.tech, args.name), indent=1, sort_keys=True))
    elif args.cmd == "rm":
        vm = _get(args.tech, args.name)
        core.plumb(vm, False)
        core.vm_path(vm["tech"], vm["id"]).unlink()
    elif args.cmd == "ovm-manager":
        from simulators import ovm_manager

        ovm_manager.configure(users=_pairs(args.user), servers=_pairs(args.server))
    elif args.cmd == "list":
        techs = [args.tech] if args.tech else sorted(p.name for p in core.state_dir().iterdir() if p.is_dir())
        for tech in techs:
            for vm in core.all_vms(tech):
                print(f"{tech} {vm['id']} {vm['name']} {vm['node']} {vm['state']}")
    return 0
