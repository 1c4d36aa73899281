"""The OVM pool of tests/drivers/test_hb_ovm.py and tests/crash/test_recovery_vm.py: the OVM page's service
(tests/data/seeds/ovmguest1.env, verbatim) on two simulated OVM servers ovmnode1/ovmnode2.

`ovm_pool` (a fixture, registered in conftest): two node roots sharing the simulators' state,
LocalTransport between them, the guest's cfg in the OVM 2 repository layout of the seed
(<ovs_mount>/*/running_pool/<uuid>/vm.cfg), the OVM manager (simulators/ovm_manager.py) knowing both
servers in pool `pool1` and the VM, and a network namespace whose hosts file names the guest.
"""

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from simulators import ovm_manager
from tests.helpers.cli import osvc, transitions
from tests.helpers.sim import sim_node_conf

SEED = Path(__file__).resolve().parents[1] / "data" / "seeds" / "ovmguest1.env"
SVC = "ovmguest1"
UUID = "0004fb0000060000a3e6b1d4c5f7a901"     # the seed's vm_uuid
USER, PASSWORD = "admin", "Ovm-S3cret-7f2a"
NODES = ("ovmnode1", "ovmnode2")


def vm_cfg(name=SVC, uuid=UUID):
    return (f"OVM_simple_name = '{name}'\nname = '{uuid}'\nuuid = '{uuid}'\nmemory = '1024'\nvcpus = 1\n"
            f"disk = ['file:/var/ovs/mount/REPO/running_pool/{uuid}/System.img,xvda,w',\n"
            "        'phy:/dev/mapper/360060160a1b2c3d4,xvdb,w']\n"
            "vif = ['bridge=xenbr0,mac=00:16:3E:4A:C2:10,type=netfront']\n")


def write_auth(root, text=f"[ovm]\nusername = {USER}\npassword = {PASSWORD}\n"):
    path = Path(root) / "etc" / "auth.conf"
    path.write_text(text)
    path.chmod(0o600)            # the engine refuses an auth.conf others can read (issue 17, item 2)


@dataclass
class OvmPool:
    sim: object
    roots: dict
    netns: str
    cfg: Path

    def osvc(self, *args, node="ovmnode1"):
        return osvc(self.roots[node], "-s", SVC, *args, node=node, wrap=("ip", "netns", "exec", self.netns))

    def phases(self, node="ovmnode1"):
        return [(rid, e, s, d) for rid, e, s, d in transitions(self.roots[node], SVC) if rid]


@pytest.fixture
def ovm_pool(sim, vm_netns, tmp_path):
    ns, add_host = vm_netns
    add_host(SVC, f"10.{secrets.randbelow(200) + 20}.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 2}")
    roots = {n: tmp_path / n for n in NODES}
    for root in roots.values():
        for sub in ("etc", "var", "log"):
            (root / sub).mkdir(parents=True)
        sim_node_conf(root, sim, sections={"transport": {"kind": "local"},
                                           "roots": {n: str(r) for n, r in roots.items()}})
        shutil.copy(SEED, root / "etc" / f"{SVC}.env")
        write_auth(root)
    cfg = sim.root / "var" / "ovs" / "mount" / "REPO" / "running_pool" / UUID / "vm.cfg"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(vm_cfg())
    ovm_manager.configure(users={USER: PASSWORD}, servers={n: "pool1" for n in NODES}, vms={SVC: "pool1"})
    return OvmPool(sim, roots, ns, cfg)


def ok(res):
    assert res.returncode == 0, f"rc {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    return res


def manager_ha():
    return ovm_manager.load()["vms"][SVC]["ha"]
