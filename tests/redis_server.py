"""A real ``redis-server`` for the tests, started on a free loopback port.

Nothing from the machine is used but the binary: no system service, no saved data. The
server keeps nothing on disk (``--save ""``, no append-only file) and listens on
127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SKIP_REASON = "redis-server is not installed; .ci/run installs it"
START_TIMEOUT_SECONDS = 10.0


@dataclass
class RedisServer:
    """A running ``redis-server``: its URL and a way to empty it between tests."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self, *words: str) -> bytes:
        """Send one command (inline protocol) and return the raw first reply line."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall(" ".join(words).encode() + b"\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return reply.strip()

    def flush(self) -> None:
        """Remove every key (between tests)."""
        reply = self.command("FLUSHALL")
        if reply != b"+OK":
            raise RuntimeError(f"FLUSHALL answered {reply!r}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def find_binary() -> str | None:
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    with (
        contextlib.suppress(OSError),
        socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn,
    ):
        conn.sendall(b"PING\r\n")
        return conn.recv(64).startswith(b"+PONG")
    return False


def _arguments(port: int, workdir: Path) -> list[str]:
    """Loopback only, nothing saved, in the foreground."""
    options = {
        "port": str(port),
        "bind": "127.0.0.1",
        "protected-mode": "yes",
        "save": "",
        "appendonly": "no",
        "dir": str(workdir),
        "daemonize": "no",
    }
    return [part for name, value in options.items() for part in (f"--{name}", value)]


def start_redis(binary: str, workdir: Path) -> RedisServer:
    """Start ``redis-server`` on a free port and wait until it answers PING."""
    workdir.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        port = _free_port()
        log_path = workdir / f"redis-{port}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [binary, *_arguments(port, workdir)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        server = RedisServer(port, process, log_path)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while process.poll() is None and time.monotonic() < deadline:
            if _answers(port):
                return server
            time.sleep(0.05)
        server.stop()
        if attempt == 2:
            raise RuntimeError(f"redis-server did not start:\n{log_path.read_text()}")
    raise AssertionError("unreachable")
