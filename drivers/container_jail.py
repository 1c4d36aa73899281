"""container.jail: a FreeBSD jail (docs/agent-reference.md §6.1 jail row, b1.8 resContainerJail).

    start      jail -c name=<jail> path=<jailroot> host.hostname=<name> [ip4.addr=a,b]
                    [ip6.addr=x,y] command=/bin/sh /etc/rc
    stop       jail -r <jail>;  no force stop (error `no forced stop method`)
    up test    a `jls` line (JID, IP Address, Hostname, Path) whose Hostname is <name>
    ping       count 1;  operational: always (the reference has no guest check)
    status     plain up/down: no capability, auto boot or name resolution checks

<jail> is the first label of <name>: b1.8 passes an attribute it never sets here (`basename`), and
a jail name cannot hold dots (they separate hierarchical jails), while the host name can.
"""

from drivers.container import Container

HOSTNAME_WIDTH = 29      # jls truncates the Hostname column


def listed_hostnames(text) -> set:
    """The Hostname column of `jls` (`%6d  %-15.15s %-29.29s %.74s`: JID, IP Address, Hostname, Path).

    Read by the header's columns: a jail without an address leaves the IP column blank, so the
    reference's "3rd whitespace field" would miss it. Without a header: the 3rd of >= 4 fields."""
    lines = text.splitlines()
    header = next((line for line in lines if "JID" in line and "Hostname" in line and "Path" in line), None)
    if header is None:
        return {fields[2] for fields in (line.split() for line in lines) if len(fields) >= 4}
    start, end = header.index("Hostname"), header.index("Path")
    return {line[start:end].strip() for line in lines if line.split()[:1] and line.split()[0].isdigit()}


def as_list(value) -> list:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return value.replace(",", " ").split()
    return [str(v) for v in value]


class Jail(Container):
    ping_count = 1

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.jailname = self.name.split(".")[0]
        self.jailroot = str(self.conf.get("jailroot") or "")
        self.ips = as_list(self.conf.get("ips"))
        self.ip6s = as_list(self.conf.get("ip6s"))

    def start_argv(self):
        argv = ["jail", "-c", f"name={self.jailname}", f"path={self.jailroot}", f"host.hostname={self.name}"]
        if self.ips:
            argv.append("ip4.addr=" + ",".join(self.ips))
        if self.ip6s:
            argv.append("ip6.addr=" + ",".join(self.ip6s))
        return argv + ["command=/bin/sh", "/etc/rc"]

    # --- technology hooks -----------------------------------------------------------------------
    def container_start(self):
        self.ctx.run(self.start_argv(), timeout=600)

    def container_stop(self):
        self.ctx.run(["jail", "-r", self.jailname], timeout=300)

    def up_argv(self):
        return ["jls"]

    def parse_up(self, result):
        return result.ok and self.name[:HOSTNAME_WIDTH] in listed_hostnames(result.out)

    def operational(self):
        return True

    def status(self):
        return ("up" if self.is_up() else "down"), []
