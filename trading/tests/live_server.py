"""A real ASGI server and real worker processes for the live-pages tests.

The server (daphne, as in the Procfile) and the workers are separate processes
on the test's own database and the configured channel layer: channels-lite's
SQLite file on the embedded default, Redis in production. Nothing of the test
process's in-memory state can carry a message between them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
from django.conf import settings

from trading.tests.processes import database_env

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(18500, 18600)  # this suite's loopback ports


def process_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        **database_env(),
        "DJANGO_SETTINGS_MODULE": "oneclick.settings",
        "DJANGO_ALLOW_ASYNC_UNSAFE": "",
        **extra,
    }


def manage(*args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def run_in_worker(code: str, timeout: float = 120) -> str:
    """Run Python code in a new ``manage.py shell`` process, as a task worker would."""
    return manage("shell", "-c", code, timeout=timeout)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


def prepare_shared_stores() -> None:
    """The channel layer's own store and the static files a served page links."""
    if "channels" in settings.DATABASES:  # channels-lite: its configured SQLite file
        manage("migrate", "channels_lite", "--database", "channels", "--verbosity", "0")
    manage("collectstatic", "--noinput", "--verbosity", "0")


@contextmanager
def asgi_server() -> Iterator[str]:
    """Serve ``oneclick.asgi`` with daphne on a loopback port; yields its base URL."""
    prepare_shared_stores()
    port = free_port()
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    # A file, not a pipe: a full pipe would stall the server.
    with tempfile.TemporaryFile(mode="w+") as log:
        server = subprocess.Popen(
            [*command, "oneclick.asgi:application"],
            cwd=ROOT,
            env=process_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            _wait_for_port(port, server, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_for_port(port: int, server: subprocess.Popen, log: IO[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"daphne exited: {log.read()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("daphne did not start within 30 s")


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """A daphne server for the test module (import this fixture to use it)."""
    with asgi_server() as url:
        yield url


@pytest.fixture
def in_memory_channel_layer() -> None:
    """Overrides trading/tests/conftest.py: the live tests use the configured layer."""
