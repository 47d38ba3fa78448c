"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary directory, started
with pg_ctl on a free port, stopped and deleted at the end of the test session.

Debian's `postgresql` package provides the binaries (under /usr/lib/postgresql/<v>/bin,
not on PATH); `.ci/run` installs it when pg_ctl is missing. initdb refuses to run as
root, so as root the cluster runs as the `postgres` system user (runuser), in a
directory that user owns. Each pytest-xdist worker starts its own cluster.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

SUPERUSER = "postgres"
PASSWORD_USER = "earshot_pw"  # a role that must give its password (the others are trusted)
PASSWORD = "right-password"


def find_bindir() -> Path | None:
    """The directory holding pg_ctl and initdb: on PATH, else the newest Debian install."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """durable=False (tests) turns fsync and synchronous commit off; benchmarks keep
    PostgreSQL's defaults so their figures are what a real server does."""

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="earshot-pg-"))
        self.datadir = self.root / "data"
        self.port = 0
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.root, SUPERUSER, SUPERUSER)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", SUPERUSER, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check,
                              cwd=self.root)

    def start(self) -> Cluster:
        self._run("initdb", "-D", str(self.datadir), "-U", SUPERUSER, "--auth=trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        with open(self.datadir / "pg_hba.conf", "w") as hba:
            hba.write(f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n"
                      "host all all 127.0.0.1/32 trust\n"
                      "local all all trust\n")
        for attempt in range(5):
            self.port = free_port()
            # Speed over durability: the data is thrown away at the end.
            done = self._pg_ctl_start(check=False)
            if done.returncode == 0:
                break
            if attempt == 4:
                log = (self.root / "log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"pg_ctl start failed: {done.stderr}\n{log}")
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE {PASSWORD_USER} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        return self

    def url(self, dbname: str = "postgres", user: str = SUPERUSER,
            password: str | None = None) -> str:
        auth = f"{user}:{password}" if password is not None else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{dbname}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url(), autocommit=True)

    def stop(self) -> None:
        """Stop PostgreSQL; the data stays (start again with restart())."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop",
                  check=False)

    def restart(self) -> None:
        """Start again after stop(), on the same port."""
        self._pg_ctl_start(check=True)

    def _pg_ctl_start(self, check: bool) -> subprocess.CompletedProcess[str]:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1"
                   f" -c unix_socket_directories={self.root} -c max_connections=200")
        if not self.durable:  # speed over durability: the data is thrown away at the end
            options += (" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                        " -c shared_buffers=32MB")
        return self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.root / "log"),
                         "-o", options, "-w", "-t", "60", "start", check=check)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
