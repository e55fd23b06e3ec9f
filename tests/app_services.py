"""Throwaway real servers for tests of the VoiceNote API: PostgreSQL, Redis and the app itself.

Each context manager starts its server on a free loopback port with all of its files in a
temp dir of its own, yields what a client needs, then stops it and removes the dir. Servers and
dirs that a killed run left behind are stopped and removed by the next run. Tests skip, naming
the Debian package to install, only when a server's binaries are missing.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

POSTGRESQL_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_SERVER = Path("/usr/bin/redis-server")
STARTUP_TIMEOUT_SECONDS = 30
APP_STOP_TIMEOUT_SECONDS = 45


def create_app_venv(venv: Path, *installs: Sequence[str | Path]) -> Path:
    """A new virtualenv at venv with one `pip install ARGS` per item of installs; returns venv."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    for arguments in installs:
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", *map(str, arguments)], check=True
        )
    return venv


def migrate(venv: Path, database_url: str, *arguments: str) -> subprocess.CompletedProcess:
    """`voicenote-api-migrate ARGUMENTS` from venv against database_url; never raises."""
    return subprocess.run(
        [str(venv / "bin" / "voicenote-api-migrate"), *arguments],
        env={"PATH": os.environ["PATH"], "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before listening.")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} in {STARTUP_TIMEOUT_SECONDS}s.")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _service_dir(kind: str, stop_leftover: Callable[[Path], None]) -> Path:
    """A new directory for one server, after stopping and removing those of dead test runs.

    The directory's name carries the test process's pid: a run that was killed leaves a server
    behind, and the next run can tell it is orphaned. It lives in the system temp dir, not in
    pytest's (which is private to root), because PostgreSQL runs as another user.
    """
    prefix = f"voicenote-test-{kind}-"
    for leftover in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        owner = leftover.name.removeprefix(prefix).split("-")[0]
        if owner.isdigit() and not _process_alive(int(owner)):
            stop_leftover(leftover)
            shutil.rmtree(leftover, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    path.chmod(0o755)
    return path


def _as_postgres(*command: str | Path) -> list[str]:
    # initdb refuses to run as root, so the server runs as Debian's postgres user.
    return ["runuser", "-u", "postgres", "--", *map(str, command)]


@dataclass(frozen=True)
class PostgreSQL:
    url: str
    port: int
    data_dir: Path

    def database_url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, database: str) -> str:
        """A new empty database on this server; returns its URL."""
        subprocess.run(
            _as_postgres(POSTGRESQL_BIN / "createdb", "-h", "127.0.0.1", "-p", self.port, database),
            check=True,
            capture_output=True,
        )
        return self.database_url(database)

    def query(self, database: str, sql: str) -> str:
        """psql's unaligned output of sql run in database."""
        return subprocess.run(
            _as_postgres(
                POSTGRESQL_BIN / "psql", "-h", "127.0.0.1", "-p", self.port, "-d", database,
                "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql,
            ),
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()  # fmt: skip


def _stop_postgresql(base: Path) -> None:
    subprocess.run(
        _as_postgres(POSTGRESQL_BIN / "pg_ctl", "-D", base / "data", "-m", "immediate", "stop"),
        check=False,
        capture_output=True,
    )


@contextlib.contextmanager
def postgresql_server() -> Iterator[PostgreSQL]:
    """A PostgreSQL 15 cluster in a temp dir on a free loopback port, trusting local connections."""
    if not (POSTGRESQL_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 is not installed (apt-get install postgresql).")
    base = _service_dir("postgresql", _stop_postgresql)
    shutil.chown(base, "postgres", "postgres")
    data_dir = base / "data"
    socket_dir = base / "socket"
    socket_dir.mkdir()
    shutil.chown(socket_dir, "postgres", "postgres")
    subprocess.run(
        _as_postgres(POSTGRESQL_BIN / "initdb", "-D", data_dir, "-U", "postgres", "-A", "trust"),
        check=True,
        capture_output=True,
    )
    port = free_port()
    settings = f"-h 127.0.0.1 -p {port} -k {socket_dir} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        _as_postgres(
            POSTGRESQL_BIN / "pg_ctl", "-D", data_dir, "-l", base / "server.log",
            "-o", settings, "-w", "-t", STARTUP_TIMEOUT_SECONDS, "start",
        ),
        check=True,
        capture_output=True,
    )  # fmt: skip
    try:
        yield PostgreSQL(
            url=f"postgresql://postgres@127.0.0.1:{port}/postgres", port=port, data_dir=data_dir
        )
    finally:
        _stop_postgresql(base)
        shutil.rmtree(base, ignore_errors=True)


class Redis:
    """A redis-server that can be stopped and started again on the same port."""

    def __init__(self, root: Path, password: str | None) -> None:
        self.root = root
        self.port = free_port()
        self.password = password
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        credentials = f":{self.password}@" if self.password else ""
        return f"redis://{credentials}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # The password goes in a private config file, never on a command line.
        config = self.root / "redis.conf"
        lines = [
            "bind 127.0.0.1",
            f"port {self.port}",
            f"dir {self.root}",
            "save ''",
            f"pidfile {self.root / 'redis.pid'}",
            "appendonly no",
        ]
        if self.password:
            lines.append(f"requirepass {self.password}")
        config.write_text("\n".join(lines) + "\n")
        config.chmod(0o600)
        self._process = subprocess.Popen(
            [str(REDIS_SERVER), str(config)],
            stdout=(self.root / "server.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        _wait_for_port(self.port, self._process, "redis-server")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=STARTUP_TIMEOUT_SECONDS)
        self._process = None


def _stop_redis(root: Path) -> None:
    pid_file = root / "redis.pid"
    if not pid_file.is_file():
        return
    pid = int(pid_file.read_text().strip() or 0)
    command_line = Path(f"/proc/{pid}/cmdline")
    if pid and command_line.exists() and b"redis-server" in command_line.read_bytes():
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def redis_server(password: str | None = None) -> Iterator[Redis]:
    """A redis-server in a temp dir on a free loopback port, without persistence."""
    if not REDIS_SERVER.exists():
        pytest.skip("redis-server is not installed (apt-get install redis-server).")
    root = _service_dir("redis", _stop_redis)
    server = Redis(root, password)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class AppProcess:
    """A running `voicenote-api` server and what it printed so far."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, as systemd sends it; returns the exit code once in-flight requests end."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=APP_STOP_TIMEOUT_SECONDS)


def start_app(venv: Path, env: Mapping[str, str], log: Path) -> AppProcess:
    """Start `voicenote-api` from venv on a free port and wait until /health answers."""
    port = free_port()
    process = subprocess.Popen(
        [str(venv / "bin" / "voicenote-api")],
        env={"PATH": os.environ["PATH"], **env, "BIND": "127.0.0.1", "PORT": str(port)},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    app = AppProcess(process=process, port=port, log=log)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"voicenote-api exited with {process.returncode}:\n{app.output()}")
        with contextlib.suppress(OSError):
            status, _ = http_json("GET", f"{app.base_url}/health")
            if status == 200:
                return app
        time.sleep(0.1)
    app.stop()
    raise RuntimeError(f"voicenote-api did not answer /health:\n{app.output()}")


@contextlib.contextmanager
def running_app(venv: Path, env: Mapping[str, str], log: Path) -> Iterator[AppProcess]:
    app = start_app(venv, env, log)
    try:
        yield app
    finally:
        if app.process.poll() is None:
            app.process.kill()
            app.process.wait()


def http_json(method: str, url: str, body: object | None = None) -> tuple[int, object]:
    """One request; returns the status and the decoded JSON body (None when empty)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - tests only ever call loopback URLs
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, (json.loads(raw) if raw else None)


def assert_ready_follows_redis(base_url: str, redis: "Redis") -> None:
    """/ready is 200, turns 503 naming redis while Redis is stopped, and 200 again after."""
    assert http_json("GET", f"{base_url}/ready") == (200, {"ready": True})
    redis.stop()
    try:
        assert http_json("GET", f"{base_url}/ready") == (503, {"ready": False, "failed": ["redis"]})
    finally:
        redis.start()
    assert http_json("GET", f"{base_url}/ready") == (200, {"ready": True})
