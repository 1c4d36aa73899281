"""OpenStack servers (docs/agent-reference.md §6.1, openstack row) through python-openstackclient (`openstack`).

    up          `openstack server show <name> -f value -c status` is ACTIVE (libcloud's state 0)
    start       the server exists and is SHUTOFF (libcloud's state 4, what the reference reboots):
                    `openstack server reboot --hard <name>` (libcloud's reboot_node is a hard reboot)
                the server exists in another state: error `abort reboot because vm is in state <S> (!=SHUTOFF)`
                no such server: create it from its last saved image (`<name>.save` exact, else the last
                    of `<name>.save*` in name order):
                    `openstack server create --image <image> --flavor <size> [--key-name <key_name>] <name>`
    stop        `shutdown -h now` in the guest over ssh with the key (drivers.container_cloud)
    force stop  save an image `<name>.save.<%Y-%m-%d.%H:%M:%S>` (`openstack server image create`, then
                wait while it is queued/saving, 240 s; not active = `save failed, image status <s>`),
                `openstack server delete <name>`, then delete the older `<name>.save*` images
    timeouts    240 s start / 120 s stop (domain.families.TIMEOUTS), 240 s save

`cloud_id` names the cloud of clouds.yaml (`openstack --os-cloud <cloud_id> ...`); without it the
client's environment (OS_CLOUD, OS_AUTH_URL...) applies. `size` is the flavor, required to create.
`shared_ip_group` (a Rackspace v1.0 notion) has no openstack client equivalent: ignored.
"""

import json
from datetime import datetime

from drivers.base import DriverError
from drivers.container_cloud import COMMAND_TIMEOUT, CloudVm, last_line

SAVE_TIMEOUT = 240
IMAGE_BUSY = ("queued", "saving", "uploading", "importing")
NO_SERVER = "No server with a name or ID of"


def parse_addresses(value) -> list:
    """The `addresses` field: {"net": ["ip", ...]} (client >= 5), or "net=ip, ip; net2=ip" (older)."""
    if isinstance(value, dict):
        out = []
        for ips in value.values():
            for ip in ips if isinstance(ips, list) else [ips]:
                out.append(ip.get("addr") if isinstance(ip, dict) else str(ip))
        return [ip for ip in out if ip]
    out = []
    for net in str(value or "").split(";"):
        for ip in net.split("=", 1)[-1].split(","):
            if ip.strip():
                out.append(ip.strip())
    return out


class Openstack(CloudVm):
    up_word = "ACTIVE"
    reboot_word = "SHUTOFF"

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.save_prefix = f"{self.name}.save"

    def os(self, *args) -> list:
        cloud = self.conf.get("cloud_id")
        return ["openstack", *(["--os-cloud", str(cloud)] if cloud else []), *args]

    def query(self, *args):
        """A read of the cloud (quiet): its stdout, or DriverError with the client's message."""
        res = self.probe(self.os(*args), timeout=COMMAND_TIMEOUT)
        if not res.ok:
            raise DriverError(last_line(res.err) or last_line(res.out) or f"openstack {' '.join(args)}: rc {res.rc}")
        return res.out

    # --- state --------------------------------------------------------------------------------------
    def vm_state(self):
        try:
            return self.query("server", "show", self.name, "-f", "value", "-c", "status").strip()
        except DriverError as exc:
            if str(exc).startswith(NO_SERVER):
                return None
            raise

    def addresses(self) -> list:
        try:
            fields = json.loads(self.query("server", "show", self.name, "-f", "json"))
        except ValueError:
            return []
        return parse_addresses(fields.get("addresses"))

    # --- images -------------------------------------------------------------------------------------
    def images(self) -> list:
        return self.query("image", "list", "-f", "value", "-c", "Name").split()

    def saves(self) -> list:
        return sorted(name for name in self.images() if name.startswith(self.save_prefix))

    def last_save(self) -> str:
        saves = self.saves()
        if self.save_prefix in saves:
            return self.save_prefix
        if not saves:
            raise DriverError(f"image {self.save_prefix} not found")
        return saves[-1]

    def image_status(self, name) -> str:
        return self.query("image", "show", name, "-f", "value", "-c", "status").strip()

    # --- actions ------------------------------------------------------------------------------------
    def container_start(self):
        state = self.vm_state()
        if state is None:
            self.restore()
        elif state == self.reboot_word:
            self.ctx.log.info(f"reboot {self.name}")
            self.ctx.run(self.os("server", "reboot", "--hard", self.name), timeout=COMMAND_TIMEOUT)
        else:
            raise DriverError(f"abort reboot because vm is in state {state} (!={self.reboot_word})")

    def restore(self):
        size, key = self.conf.get("size"), self.conf.get("key_name")
        if not size:
            raise DriverError(f"{self.res.rid}: size is not set: the flavor to create server {self.name} with")
        image = self.last_save()
        self.ctx.log.info(f"create instance {self.name}, size {size}, image {image}, key {key}")
        self.ctx.run(self.os("server", "create", "--image", image, "--flavor", str(size),
                             *(["--key-name", str(key)] if key else []), self.name), timeout=COMMAND_TIMEOUT)

    def container_stop(self):
        self.ctx.log.info("remote command: shutdown -h now")
        self.rcmd(["shutdown", "-h", "now"])

    def container_forcestop(self):
        self.save()
        self.ctx.run(self.os("server", "delete", self.name), timeout=COMMAND_TIMEOUT)
        self.purge_saves()

    def save(self):
        name = self.save_prefix + datetime.now().strftime(".%Y-%m-%d.%H:%M:%S")
        if name in self.images():
            return
        self.ctx.log.info(f"save new image {name}")
        self.ctx.run(self.os("server", "image", "create", "--name", name, self.name), timeout=COMMAND_TIMEOUT)
        deadline = self.clock() + SAVE_TIMEOUT
        status = self.image_status(name)
        while status in IMAGE_BUSY and self.clock() + self.up_poll <= deadline:
            self.sleep(self.up_poll)
            status = self.image_status(name)
        if status != "active":
            raise DriverError(f"save failed, image status {status}")

    def purge_saves(self):
        saves = self.saves()
        if not saves:
            raise DriverError("no save image found")
        if len(saves) == 1:
            self.ctx.log.info("no previous save image to delete")
        for name in saves[:-1]:
            self.ctx.log.info(f"delete previous save image {name}")
            self.ctx.run(self.os("image", "delete", name), timeout=COMMAND_TIMEOUT)
