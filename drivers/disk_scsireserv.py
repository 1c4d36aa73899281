"""disk scsireserv: SCSI-3 persistent reservations on the disks of a peer resource (docs/agent-reference.md §6.3).

The config layer creates this resource as `<rid>pr` next to any disk or container section with
`scsireserv = true`; keyword `peer` names that resource, whose driver's `disklist()` gives the disks
(a container's backing disks, a vmdg's exposed devices).

Commands (sg3_utils, Linux), for each disk D with key K (type 5: write exclusive, registrants only):
    acknowledge   sg_persist -n -r D, once per second up to 10 times while it reports Unit Attention;
                  `unsupported service action` -> D cannot do PR: skipped
    register      sg_persist -n --out --register-ignore --param-sark=K D
    read          sg_persist -n -r D (holder key), sg_persist -n -k D (registered keys)
    reserve       sg_persist -n --out --reserve --param-rk=K --prout-type=5 D
    preempt       sg_persist -n --out --preempt-abort --param-sark=<holder> --param-rk=K --prout-type=5 D
                  (--preempt with no_preempt_abort): ONLY with --force or --cluster
    release       sg_persist -n --out --release --param-rk=K --prout-type=5 D
    unregister    sg_persist -n --out --register-ignore --param-rk=K D

Start refuses before any effect when a disk is reserved by another key and neither --force nor
--cluster is given: `<D> is already reserved. use --force to override this safety net`.
Status per disk: our key holds it -> up, anything else -> down; merged, so partial -> warn.
No `sg_persist` on PATH -> status n/a and start/stop do nothing (reference).

Keys compare as numbers: sg_persist prints `0x%x` (lower case, no leading zeros) whatever the
spelling given to --param-rk.
"""

import os
import re
import shutil

from core.files import make_dirs
from drivers.base import Driver, DriverError

PRTYPE = "5"
SG_TIMEOUT = 30
UA_TRIES = 10          # unit attention: one read per second, up to 10 (reference preempt_timeout)
RESERVE_WAIT = 3       # seconds to see a preempted reservation become ours
LABEL_MAX = 248
KEY_RE = re.compile(r"^0x[0-9a-fA-F]{1,16}$")


class NotCapable(Exception):
    """The disk answers `unsupported service action`: it cannot do persistent reservations."""


def check_key(key, where) -> str:
    key = str(key).strip()
    if not KEY_RE.match(key):
        raise DriverError(f"invalid prkey {key!r} in {where}: expected 0x followed by 1 to 16 hex digits "
                          f"(e.g. 0x7f000001)")
    return key


def key_value(text) -> int | None:
    try:
        return int(str(text), 16)
    except (TypeError, ValueError):
        return None


def save_node_prkey(node, key) -> None:
    """Add `prkey = <key>` to etc/node.conf [node], keeping the rest of the file as it is."""
    path = node.conf_path
    try:
        lines = path.read_text().splitlines(keepends=True)
    except FileNotFoundError:
        lines = []
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    header = next((i for i, line in enumerate(lines) if line.strip().lower() == "[node]"), None)
    if header is None:
        lines += (["\n"] if lines and lines[-1].strip() else []) + ["[node]\n", f"prkey = {key}\n"]
    else:
        lines.insert(header + 1, f"prkey = {key}\n")
    make_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(lines))
    os.replace(tmp, path)


class ScsiReserv(Driver):
    family = "disk"

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.peer = str(self.conf.get("peer") or "")
        self.no_preempt_abort = bool(self.conf.get("no_preempt_abort"))
        self.sleep = ctx.sleep
        self._key = None
        self._peer_driver = None
        self._probing = False

    # --- the peer's disks ------------------------------------------------------------------------
    def peer_driver(self):
        """The driver of the resource whose disks we reserve (`ctx.driver_of`)."""
        if self._peer_driver is None:
            try:
                drv = self.ctx.driver_of(self.peer)
            except KeyError:
                raise DriverError(f"{self.res.rid}: peer resource {self.peer!r} is not in the service") from None
            if drv is None:
                raise DriverError(f"{self.res.rid}: no driver for the peer {self.peer}")
            self._peer_driver = drv
        return self._peer_driver

    def disks(self) -> list:
        return list(dict.fromkeys(str(d) for d in self.peer_driver().disklist() if d))

    def label(self) -> str:
        try:
            disks = self.disks()
        except DriverError:
            disks = []
        if not disks:
            return "preserv 0 scsi disk"
        text = ", ".join(disks)
        if len(text) > LABEL_MAX:
            return "preserv " + text[:LABEL_MAX] + " ..."
        return text

    # --- the key -----------------------------------------------------------------------------------
    @property
    def key(self) -> str:
        """`prkey` keyword, else node.conf [node] prkey, else 0x<hostid> (then saved in node.conf)."""
        if self._key is None:
            if self.conf.get("prkey"):
                self._key = check_key(self.conf["prkey"], f"[{self.peer or self.res.rid}] prkey")
            else:
                node = self.ctx.node
                saved = node.setting("node", "prkey")
                if saved:
                    self._key = check_key(saved, f"{node.conf_path} [node] prkey")
                else:
                    self._key = self.generate_key()
        return self._key

    def generate_key(self) -> str:
        result = self.ctx.run(["hostid"], timeout=10, check=False, quiet=True)
        hostid = result.out.strip()
        if not result.ok or not re.fullmatch(r"[0-9a-fA-F]{1,16}", hostid):
            raise DriverError("no prkey: set prkey in the resource or [node] prkey in node.conf "
                              "(the hostid command gave none)")
        key = "0x" + hostid.lower()
        save_node_prkey(self.ctx.node, key)
        if not self._probing:     # status output (print status --format json) stays clean
            self.ctx.log.info(f"generated prkey {key} (0x<hostid>), saved in {self.ctx.node.conf_path} [node] prkey")
        return key

    def is_ours(self, key) -> bool:
        return key is not None and key_value(key) == key_value(self.key)

    # --- sg_persist --------------------------------------------------------------------------------
    @staticmethod
    def supported() -> bool:
        return shutil.which("sg_persist") is not None

    def sg(self, *args, logged=False):
        """`sg_persist -n <options> -- <disk>`: the disk, last of `args`, after `--` (getopt_long ends the
        options there, so a device name beginning with `-` is never read as one)."""
        *options, disk = args
        return self.ctx.run(["sg_persist", "-n", *options, "--", disk], timeout=SG_TIMEOUT, check=False,
                            quiet=not logged)

    def ack_unit_attention(self, disk, log=True):
        """`sg_persist -n -r` until the disk stops reporting Unit Attention; the last read's Result (its
        reservation, which the caller parses: one read does both). NotCapable when PR is unsupported.
        `log=False` for status probes (the console of `print status` shows only the tree)."""
        for attempt in range(UA_TRIES):
            result = self.sg("-r", disk)
            text = result.out + result.err
            if "unsupported service action" in text:
                raise NotCapable(disk)
            if "error opening file" in text or (result.ok and "unit attention" not in text.lower()):
                return result             # a missing disk: holder() says what is wrong
            if log:
                self.ctx.log.info(f"disk {disk} reports 'Unit Attention' ... waiting")
            if attempt < UA_TRIES - 1:
                self.sleep(1)
        raise DriverError(f"timed out waiting for 'Unit Attention' to go away on disk {disk}")

    def holder(self, disk, result=None) -> str | None:
        """The key holding the disk's reservation, or None (from `result`, a read already made)."""
        result = result or self.sg("-r", disk)
        if "unsupported service action" in result.err:
            raise NotCapable(disk)
        if not result.ok:
            detail = result.err.strip().splitlines()[-1:] or [f"rc {result.rc}"]
            raise DriverError(f"failed to read reservation for disk {disk}: {detail[0]}")
        match = re.search(r"Key=(0x[0-9a-fA-F]+)", result.out)
        return match.group(1) if match else None

    def registered(self, disk) -> bool:
        result = self.sg("-k", disk)
        if not result.ok:
            raise DriverError(f"failed to read registrations for disk {disk}")
        keys = re.findall(r"^\s*(0x[0-9a-fA-F]+)\s*$", result.out, re.M)
        return any(self.is_ours(k) for k in keys)

    def capable(self, disks):
        """(disk, holder key) of every PR-capable disk, unit attentions acknowledged first."""
        out = []
        for disk in disks:
            try:
                out.append((disk, self.holder(disk, self.ack_unit_attention(disk))))
            except NotCapable:
                self.ctx.log.info(f"disk {disk} does not support persistent reservation: skipped")
        return out

    # --- status ------------------------------------------------------------------------------------
    def status(self):
        from domain.status import merge_all

        if not self.supported():
            return "n/a", ["sg_persist must be installed to use scsi-3 reservations"]
        try:
            self._probing = True
            self.key
            disks = self.disks()
        except DriverError as exc:
            return "warn", [str(exc)]
        finally:
            self._probing = False
        if not disks:
            return "n/a", ["no disk to reserve"]
        per_disk = {}
        for disk in disks:
            try:
                holder = self.holder(disk, self.ack_unit_attention(disk, log=False))
            except NotCapable:
                continue
            except DriverError as exc:
                return "warn", [str(exc)]
            per_disk[disk] = "up" if self.is_ours(holder) else "down"
        if not per_disk:
            return "n/a", ["no disk supports persistent reservation"]
        value = merge_all(per_disk.values())
        log = [f"{d} is not reserved by this node" for d, v in per_disk.items() if v == "down"] \
            if value == "warn" else []
        return value, log

    # --- actions -----------------------------------------------------------------------------------
    def start(self):
        if not self.supported():
            self.ctx.log.info("sg_persist not found: no reservation taken")
            return
        self.key
        disks = self.disks()
        state = self.capable(disks)
        if not state:
            self.ctx.log.info("no disk to reserve")
            return
        if all(self.is_ours(k) for _, k in state):
            self.ctx.log.info("already started")
            return
        self.reserve_disks([d for d, _ in state], state=dict(state))

    def stop(self):
        if not self.supported():
            self.ctx.log.info("sg_persist not found: no reservation to release")
            return
        self.key
        self.release_disks(self.disks())

    def reserve_disks(self, disks, state=None):
        """Register and reserve `disks`. Refused before any effect when one is reserved by another key
        and the action has neither --force nor --cluster."""
        state = dict(self.capable(disks)) if state is None else state
        foreign = [d for d in disks if d in state and state[d] is not None and not self.is_ours(state[d])]
        if foreign and not (self.ctx.force or self.ctx.cluster):
            raise DriverError(f"{foreign[0]} is already reserved. use --force to override this safety net")
        self.can_rollback = True
        failed = []
        for disk in disks:
            if disk not in state:
                continue
            if self.sg("--out", "--register-ignore", f"--param-sark={self.key}", disk, logged=True).rc != 0:
                self.ctx.log.error(f"failed to register key {self.key} with disk {disk}")
                failed.append(disk)
        for disk in disks:
            if disk not in state or disk in failed:
                continue
            holder = state[disk]
            if self.is_ours(holder):
                continue
            if holder is None:
                result = self.sg("--out", "--reserve", f"--param-rk={self.key}", f"--prout-type={PRTYPE}", disk,
                                 logged=True)
                if result.rc != 0:
                    self.ctx.log.error(f"failed to reserve disk {disk}")
                    failed.append(disk)
                continue
            if not self.preempt(disk, holder):
                failed.append(disk)
        if failed:
            raise DriverError(f"reservation failed on {', '.join(failed)}")

    def preempt(self, disk, holder) -> bool:
        option = "--preempt" if self.no_preempt_abort else "--preempt-abort"
        result = self.sg("--out", option, f"--param-sark={holder}", f"--param-rk={self.key}",
                         f"--prout-type={PRTYPE}", disk, logged=True)
        if result.rc != 0:
            self.ctx.log.error(f"failed to preempt reservation for disk {disk}")
            return False
        for attempt in range(RESERVE_WAIT):
            if self.is_ours(self.holder(disk)):
                self.ctx.log.info(f"reservation acquired for disk {disk}")
                return True
            if attempt < RESERVE_WAIT - 1:
                self.sleep(1)
        self.ctx.log.error(f"timed out waiting for reservation for disk {disk}")
        return False

    def release_disks(self, disks, gone_ok=False):
        """Release then unregister `disks` (only where we hold / are registered)."""
        failed = []
        for disk in disks:
            try:
                holder = self.holder(disk, self.ack_unit_attention(disk))
                if self.is_ours(holder):
                    result = self.sg("--out", "--release", f"--param-rk={self.key}", f"--prout-type={PRTYPE}",
                                     disk, logged=True)
                    if result.rc != 0:
                        self.ctx.log.error(f"failed to release disk {disk}")
                        failed.append(disk)
                        continue
                if self.registered(disk):
                    result = self.sg("--out", "--register-ignore", f"--param-rk={self.key}", disk, logged=True)
                    if result.rc != 0:
                        self.ctx.log.error(f"failed to unregister key {self.key} with disk {disk}")
                        failed.append(disk)
            except NotCapable:
                continue
            except DriverError as exc:
                if gone_ok:
                    self.ctx.log.warning(f"{disk}: {exc}: nothing to release")
                    continue
                raise
        if failed:
            raise DriverError(f"release failed on {', '.join(failed)}")

    def held(self, disks) -> list:
        """The disks of `disks` whose reservation this node holds (quiet probes)."""
        out = []
        for disk in disks:
            try:
                if self.is_ours(self.holder(disk)):
                    out.append(disk)
            except (NotCapable, DriverError):
                continue
        return out
