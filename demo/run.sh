#!/bin/sh
# The demo, in three parts:
#  1. a service made of a loop-device ext4 filesystem, an ip address in a network namespace and two
#     app launchers: start / print status / stop, then its journal (real resources);
#  2. the OVM walkthrough of the seed (tests/data/seeds/ovmguest1.env, verbatim) on two simulated OVM
#     nodes: start --cluster, print status, migrate --to the peer, switch back, stop --cluster, then
#     the journal of what happened;
#  3. the VM cookbook's service (tests/data/seeds/vm188.env, [container#1] type = hpvm): print
#     status, stop, start;
#  4. (root) two nodes over real ssh (demo/cluster.py: namespace nodes, an sshd each): a switch from
#     hv1 to hv2, then its cluster audit on hv1, hv2's start nested under the record that launched it;
#  5. (root) an encapsulated service on a real LXC guest (demo/encap.py): the host starts the container
#     and the engine inside it, both trees, push, stop.
# Runs on a fresh machine; as root it uses real loop devices, mounts and network namespaces. The
# hypervisors are CLI simulators (simulators/bin first on PATH); ping of the guests is real.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
export OSVC_ROOT="$here/demo-root"
export OSVC_NODENAME=demo-node1
svc=demo1

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { step "$*"; "$@"; }
refused() { step "$*"; if "$@"; then echo "(expected a refusal)"; exit 1; else echo "(exit $?: refused, as it should be)"; fi; }

cleanup() {
  [ -n "${ns:-}" ] && ip netns del "$ns" 2>/dev/null || true
  if [ -n "${vmns:-}" ]; then
    ip netns del "$vmns" 2>/dev/null || true
    rm -rf "/etc/netns/$vmns"
  fi
  if [ -n "${img:-}" ]; then
    mountpoint -q "$OSVC_ROOT/mnt/data" 2>/dev/null && umount "$OSVC_ROOT/mnt/data" || true
    for dev in $(losetup -j "$img" -O NAME -n 2>/dev/null); do losetup -d "$dev" || true; done
  fi
}
trap cleanup EXIT

demo_root="$OSVC_ROOT"
rm -rf "$demo_root"
mkdir -p "$OSVC_ROOT/etc/$svc.d" "$OSVC_ROOT/var" "$OSVC_ROOT/log" "$OSVC_ROOT/mnt"

# Two launchers in the 1.5 style: S* start, K* stop, C* check.
for app in web db; do
  cat > "$OSVC_ROOT/etc/$svc.d/S10$app" <<SCRIPT
#!/bin/sh
touch "$OSVC_ROOT/var/$app.running"
SCRIPT
  cat > "$OSVC_ROOT/etc/$svc.d/K10$app" <<SCRIPT
#!/bin/sh
rm -f "$OSVC_ROOT/var/$app.running"
SCRIPT
  cat > "$OSVC_ROOT/etc/$svc.d/C10$app" <<SCRIPT
#!/bin/sh
test -e "$OSVC_ROOT/var/$app.running"
SCRIPT
done
chmod +x "$OSVC_ROOT/etc/$svc.d/"*

wrap=""
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null && command -v mkfs.ext4 >/dev/null; then
  img="$OSVC_ROOT/var/data.img"
  truncate -s 32M "$img"
  mkfs.ext4 -q -F "$img"
  ns="osvcdemo$$"
  ip netns add "$ns"
  ip -n "$ns" link add eth0 type veth peer name eth0p
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set eth0p up
  ip -n "$ns" link set lo up
  wrap="nsenter --net=/run/netns/$ns"   # only the network namespace: mounts stay visible
  cat > "$OSVC_ROOT/etc/$svc.env" <<CONF
[DEFAULT]
nodes = demo-node1
app = DEMO
comment = the osvc-engine demo service

[ip#1]
ipname = 10.99.0.10
ipdev = eth0
netmask = 24

[disk#1]
type = loop
file = $img

[fs#1]
type = ext4
dev = {disk#1.file}
mnt = $OSVC_ROOT/mnt/data
CONF
else
  echo "(not root: the demo runs with app launchers only)"
  cat > "$OSVC_ROOT/etc/$svc.env" <<CONF
[DEFAULT]
nodes = demo-node1
app = DEMO
CONF
fi

run cat "$OSVC_ROOT/etc/$svc.env"
run osvc-engine -s $svc validate config
run osvc-engine -s $svc print status --refresh
run $wrap osvc-engine -s $svc start
run osvc-engine -s $svc print status
run $wrap osvc-engine -s $svc stop
run osvc-engine -s $svc print status
run osvc-engine journal tail -s $svc -n 40
run osvc-engine journal verify
run osvc-engine journal stats

if [ "$(id -u)" != 0 ]; then
  echo "(not root: the VM parts need a network namespace for the guests' addresses; skipped)"
  exit 0
fi

# --- parts 2 and 3: simulated hypervisors ------------------------------------------------------------
seeds="$here/tests/data/seeds"
sims="$here/simulators/bin"
export PATH="$sims:$PATH"
export OSVC_SIM_STATE="$demo_root/sim/state" OSVC_SIM_BOOT=3 OSVC_SIM_SHUTDOWN=2
simroot="$demo_root/sim/root"        # "/" of the simulated hosts: repositories, /etc/xen...
vmns="osvcvm$$"
ip netns add "$vmns"
ip -n "$vmns" link set lo up
mkdir -p "/etc/netns/$vmns"          # `ip netns exec` binds this hosts file on /etc/hosts
printf '127.0.0.1 localhost\n10.99.1.11 ovmguest1\n10.99.1.88 vm188\n' > "/etc/netns/$vmns/hosts"
in_ns="ip netns exec $vmns"

# node_root NAME PEERS...: a node folder whose node.conf points the technologies at the simulated
# hosts, reaches its peers through LocalTransport, and polls the guests every second.
node_root() {
  name=$1; shift
  r="$demo_root/nodes/$name"
  mkdir -p "$r/etc" "$r/var" "$r/log"
  {
    printf '[container]\npoll_interval = 1\n\n[paths]\n'
    printf 'ovs_mount = %s\novs = %s\nxen = %s\novs_agent = %s\nhpvm = %s\nrsh = %s -q -o BatchMode=yes\n' \
      "$simroot/var/ovs/mount" "$simroot/OVS/Repositories" "$simroot/etc/xen" "$sims/ovs-agent" "$sims" "$sims/ssh"
    printf '\n[transport]\nkind = local\n\n[roots]\n'
    for peer in "$@"; do printf '%s = %s\n' "$peer" "$demo_root/nodes/$peer"; done
  } > "$r/etc/node.conf"
}

echo
echo "=== part 2: the OVM walkthrough (seed ovmguest1.env, two simulated OVM nodes) ==="
uuid=$(sed -n 's/^vm_uuid = //p' "$seeds/ovmguest1.env")
for n in ovmnode1 ovmnode2; do
  node_root $n ovmnode1 ovmnode2
  cp "$seeds/ovmguest1.env" "$demo_root/nodes/$n/etc/ovmguest1.env"
  printf '[ovm]\nusername = admin\npassword = s3cr3t\n' > "$demo_root/nodes/$n/etc/auth.conf"
  chmod 600 "$demo_root/nodes/$n/etc/auth.conf"
done
cfg="$simroot/var/ovs/mount/4f3c0e2a9d1b/running_pool/$uuid/vm.cfg"
mkdir -p "$(dirname "$cfg")"
cat > "$cfg" <<CFG
name = '$uuid'
OVM_simple_name = 'ovmguest1'
memory = '2048'
vcpus = 2
disk = ['phy:/dev/mapper/ovmguest1_sys,xvda,w', 'phy:/dev/mapper/ovmguest1_data,xvdb,w']
vif = ['mac=00:16:3e:5b:21:07, bridge=xenbr0']
CFG
vmsim ovm-manager --user admin=s3cr3t --server ovmnode1=ovmpool1 --server ovmnode2=ovmpool1
export OSVC_ROOT="$demo_root/nodes/ovmnode1" OSVC_NODENAME=ovmnode1
run cat "$OSVC_ROOT/etc/ovmguest1.env"
refused osvc-engine -s ovmguest1 start
run $in_ns osvc-engine -s ovmguest1 start --cluster
run osvc-engine -s ovmguest1 sync_all        # the env file to the peer node (sync#i0)
run $in_ns osvc-engine -s ovmguest1 print status --refresh
# live migration to the peer (xm migrate -l), then a switch back (stop there, start here)
run $in_ns osvc-engine -s ovmguest1 migrate --to ovmnode2 --cluster
run $in_ns osvc-engine -s ovmguest1 print status --refresh
run $in_ns env OSVC_ROOT="$demo_root/nodes/ovmnode2" OSVC_NODENAME=ovmnode2 osvc-engine -s ovmguest1 print status
run $in_ns env OSVC_ROOT="$demo_root/nodes/ovmnode2" OSVC_NODENAME=ovmnode2 osvc-engine -s ovmguest1 switch --to ovmnode1 --cluster
run $in_ns osvc-engine -s ovmguest1 print status --refresh
run $in_ns osvc-engine -s ovmguest1 stop --cluster
run $in_ns osvc-engine -s ovmguest1 print status --refresh
run osvc-engine journal tail -s ovmguest1 --kind transition -n 40
run osvc-engine journal audit -s ovmguest1

echo
echo "=== part 3: the VM cookbook's service (seed vm188.env, [container#1] type = hpvm) ==="
for n in node109 node110 node111 node112 node120; do
  node_root $n node109 node110 node111 node112 node120
  cp "$seeds/vm188.env" "$demo_root/nodes/$n/etc/vm188.env"
done
vmsim define hpvm vm188 --running --node node109 --disk /dev/rdisk/disk10 --disk /dev/rdisk/disk11
export OSVC_ROOT="$demo_root/nodes/node109" OSVC_NODENAME=node109
run cat "$OSVC_ROOT/etc/vm188.env"
run $in_ns osvc-engine -s vm188 print status --refresh
run osvc-engine -s vm188 sync_all            # the env file to node110..112 and the drp node120
run $in_ns osvc-engine -s vm188 print status --refresh
run $in_ns osvc-engine -s vm188 stop
run $in_ns osvc-engine -s vm188 start
run $in_ns osvc-engine -s vm188 print status
run osvc-engine journal tail -s vm188 --kind transition -n 40
run osvc-engine journal verify

echo
echo "=== part 4: two nodes over real ssh, a switch and its cluster audit (demo/cluster.py) ==="
if [ "$(id -u)" = 0 ]; then
  python3 "$here/demo/cluster.py"     # tears its nodes down itself (sshd by pid, namespaces, folders)
else
  echo "(skipped: needs root for the namespace nodes)"
fi

echo
echo "=== part 5: an encapsulated service on a real LXC guest (demo/encap.py) ==="
if [ "$(id -u)" = 0 ]; then
  python3 "$here/demo/encap.py"       # tears its container and namespace down itself
else
  echo "(skipped: needs root for the LXC guest)"
fi
