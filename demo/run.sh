#!/bin/sh
# The demo: a service made of a loop-device ext4 filesystem, an ip address in a network namespace and
# two app launchers, driven through start / print status / stop, then its journal.
# Runs on a fresh machine; as root it uses real loop devices, mounts and a network namespace.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
export OSVC_ROOT="$here/demo-root"
export OSVC_NODENAME=demo-node1
svc=demo1

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { step "$*"; "$@"; }

cleanup() {
  [ -n "${ns:-}" ] && ip netns del "$ns" 2>/dev/null || true
  if [ -n "${img:-}" ]; then
    mountpoint -q "$OSVC_ROOT/mnt/data" 2>/dev/null && umount "$OSVC_ROOT/mnt/data" || true
    for dev in $(losetup -j "$img" -O NAME -n 2>/dev/null); do losetup -d "$dev" || true; done
  fi
}
trap cleanup EXIT

rm -rf "$OSVC_ROOT"
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
