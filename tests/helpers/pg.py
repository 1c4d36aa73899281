"""A throwaway PostgreSQL server for the collector's tests and benchmark: `initdb` in a temp folder,
`pg_ctl start` listening on a unix socket only (no network port), stopped and removed after.

PostgreSQL refuses to run as root: as root the server runs as the `postgres` user (runuser); otherwise
as the current user. `find_bin()` looks on PATH, then in Debian's /usr/lib/postgresql/<version>/bin.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

ADMIN = "osvc_admin"          # the superuser initdb makes (trust auth over the socket only)
ROLE = "osvc"                 # the collector's role: no superuser, no createdb, owns one schema
PORT = 5432                   # only names the socket file: each server has its own socket folder


def find_bin():
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("pg_ctl")
    if found and os.path.exists(os.path.join(os.path.dirname(os.path.realpath(found)), "initdb")):
        return os.path.dirname(os.path.realpath(found))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(versions[-1]) if versions else None


def absent_reason():
    """Why the collector tests cannot run here, or None."""
    if find_bin() is None:
        return ("PostgreSQL is not installed (no pg_ctl on PATH nor in /usr/lib/postgresql/*/bin): "
                "`apt-get install postgresql` (.ci/run installs it)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run the server as (PostgreSQL refuses root)"
    return None


class Server:
    def __init__(self, durable=False):
        self.bin = find_bin()
        self.base = Path(tempfile.mkdtemp(prefix="osvc-pg-"))
        self.base.chmod(0o755)
        self.data = self.base / "data"
        self.socket = str(self.base)
        self.as_user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.options = f"-k {self.socket} -c listen_addresses='' -p {PORT}"
        if not durable:        # tests: nothing needs to survive a power loss
            self.options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("initdb", "-A", "trust", "-U", ADMIN, "-D", str(self.data), "-E", "UTF8", "--locale=C",
                  "--no-sync")
        self.started = False
        self._dbs = 0

    def _run(self, tool, *args):
        out = subprocess.run([*self.as_user, os.path.join(self.bin, tool), *args], check=False, capture_output=True,
                             text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"{tool} failed ({out.returncode}): {out.stdout}{out.stderr}")
        return out

    def start(self):
        self._run("pg_ctl", "-w", "-D", str(self.data), "-l", str(self.base / "server.log"), "-o", self.options,
                  "start")
        self.started = True

    def stop(self, mode="fast"):
        if self.started:
            self._run("pg_ctl", "-w", "-D", str(self.data), "-m", mode, "stop")
            self.started = False

    def remove(self):
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def dsn(self, dbname="postgres", user=ADMIN):
        return f"host={self.socket} port={PORT} dbname={dbname} user={user}"

    def admin(self, dbname="postgres"):
        import psycopg

        return psycopg.connect(self.dsn(dbname), autocommit=True)

    def create_role(self):
        """The collector's role: login, and nothing else (no superuser, createdb, createrole)."""
        with self.admin() as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone():
                conn.execute(f"CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION")

    def create_database(self, name=None):
        """A fresh database set up as docs/collector.md says: the role may connect, and owns the schema named
        after it (where the engine creates its tables). Returns the role's dsn."""
        self._dbs += 1
        name = name or f"collector{self._dbs}"
        self.create_role()
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name}")
            conn.execute(f"REVOKE ALL ON DATABASE {name} FROM PUBLIC")
            conn.execute(f"GRANT CONNECT ON DATABASE {name} TO {ROLE}")
        with self.admin(name) as conn:
            conn.execute(f"CREATE SCHEMA {ROLE} AUTHORIZATION {ROLE}")
            conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        return self.dsn(name, ROLE)
