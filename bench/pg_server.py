"""A throwaway PostgreSQL server for the tests and bench/bench_team.py (spec §16): initdb + pg_ctl in a temporary directory.

``initdb`` refuses root, so when the tests run as root the cluster belongs to the ``postgres``
user and is run with ``runuser``; the server listens on a unix socket only. Each test gets its
own database copied from a template (~0.1 s). Without PostgreSQL's binaries the tests that need
it are skipped, saying why.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def find_bin(name: str) -> str | None:
    for d in BIN_DIRS:
        if (d / name).exists():
            return str(d / name)
    return shutil.which(name)


def why_not() -> str | None:
    """None when a server can be started here, else the reason."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    if not find_bin("initdb") or not find_bin("pg_ctl"):
        return "PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install -y postgresql"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser: cannot start initdb as the postgres user"
    return None


class Server:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="crm-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.sock.mkdir()
        self.port = 54000 + os.getpid() % 1000
        self.superuser = "postgres"
        self._n = itertools.count(1)
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chmod(self.root, 0o755)
            for p in (self.root, self.sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        else:
            import getpass

            self.superuser = getpass.getuser()

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        self.run(find_bin("initdb") or "initdb", "-D", str(self.data), "--no-sync", "-A", "trust", "-U", self.superuser, "-E", "UTF8", "--locale=C")
        opts = f"-k {self.sock} -p {self.port} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self.run(find_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        try:
            self.run(find_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, db: str, user: str | None = None) -> str:
        return f"postgresql+psycopg://{user or self.superuser}@/{db}?host={self.sock}&port={self.port}"

    def libpq(self, db: str, user: str | None = None) -> str:
        return f"host={self.sock} port={self.port} dbname={db} user={user or self.superuser}"

    def admin(self):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(self.libpq("postgres"), autocommit=True)

    def new_database(self, template: str | None = None) -> str:
        name = f"t{os.getpid()}_{next(self._n)}"
        with self.admin() as con:
            # FILE_COPY: half the time of the default WAL_LOG for a small template (fsync is off)
            con.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
