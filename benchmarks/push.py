"""Push latency: an update committed in a worker process → the message at an open page.

Run (embedded default; a throw-away var/ directory is made and removed):
    .venv/bin/python benchmarks/push.py [--clients 200] [--messages 2000] [--rate 200]
Production setup: set DATABASE_URL (a scratch database: users are added to it),
REDIS_URL, SECRET_KEY and VAULT_KEYS as for the server, then run the same command.

What runs: daphne serving ``oneclick.asgi`` on a loopback port (as in the
Procfile), ``--clients`` signed-in users each with one open live socket
(aiohttp), and one ``manage.py shell`` worker process that commits
``--messages`` updates at ``--rate`` per second, round-robin over the users,
each through ``trading.events.push_to_user`` (what sync.py calls after a fill)
inside a transaction, stamped with the time just before the commit. Each client
records arrival minus stamp. Prints delivered/sent and p50/p95/max in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
PORTS = range(18500, 18600)

SESSIONS = """
import json
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from accounts.models import User
keys = []
for n in range({clients}):
    user, _ = User.objects.get_or_create(email=f"push-bench-{{n}}@example.com")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    keys.append([user.pk, session.session_key])
print("SESSIONS", json.dumps(keys))
"""

WORKER = """
import time
from django.db import transaction
from trading.events import push_to_user
users = {users}
start = time.monotonic()
for i in range({messages}):
    delay = start + i / {rate} - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    with transaction.atomic():
        push_to_user(users[i % len(users)], "order", {{"i": i, "sent_at": time.time()}})
"""


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603 (fixed argv, no outside input)
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if result.returncode:
        raise SystemExit(result.stdout + result.stderr)
    return result.stdout


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("no free port")


def start_server(env: dict[str, str], port: int, log: object) -> subprocess.Popen:
    server = subprocess.Popen(  # noqa: S603 (fixed argv, no outside input)
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "oneclick.asgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit("daphne exited") from None
            time.sleep(0.1)
    raise SystemExit("daphne did not start")


async def measure(
    url: str, sessions: list[list], env: dict[str, str], args: argparse.Namespace
) -> tuple[list[float], int]:
    latencies: list[float] = []
    cookie = "sessionid"
    http = [aiohttp.ClientSession(cookies={cookie: key}) for _, key in sessions]
    sockets = []
    for client in http:
        sockets.append(await client.ws_connect(url.replace("http", "ws") + "/ws/live/", origin=url))

    async def listen(ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            data = json.loads(message.data)
            if data.get("event") == "order":
                latencies.append((time.time() - data["data"]["sent_at"]) * 1000)

    listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
    worker = WORKER.format(
        users=[user for user, _ in sessions], messages=args.messages, rate=args.rate
    )
    await asyncio.to_thread(manage, env, "shell", "-c", worker)
    deadline = time.monotonic() + 15
    while len(latencies) < args.messages and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    for task in listeners:
        task.cancel()
    for ws, client in zip(sockets, http, strict=True):
        await ws.close()
        await client.close()
    return latencies, args.messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200, help="updates per second")
    args = parser.parse_args()

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "oneclick.settings"}
    scratch = None
    if not env.get("DATABASE_URL"):
        scratch = tempfile.mkdtemp(prefix="oneclick-push-")
        env["ONECLICK_VAR_DIR"] = scratch
    setup = "PostgreSQL + Redis (channels-redis)" if scratch is None else "embedded (channels-lite)"
    try:
        manage(env, "migrate", "--verbosity", "0")
        if scratch is not None:
            manage(env, "migrate", "channels_lite", "--database", "channels", "--verbosity", "0")
        manage(env, "collectstatic", "--noinput", "--verbosity", "0")
        out = manage(env, "shell", "-c", SESSIONS.format(clients=args.clients))
        sessions = json.loads(out.split("SESSIONS", 1)[1])
        port = free_port()
        with tempfile.TemporaryFile() as log:
            server = start_server(env, port, log)
            try:
                latencies, sent = asyncio.run(
                    measure(f"http://127.0.0.1:{port}", sessions, env, args)
                )
            finally:
                server.terminate()
                server.wait(timeout=10)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

    latencies.sort()
    if not latencies:
        raise SystemExit(f"{setup}: nothing delivered")
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    print(
        f"{setup}: {args.clients} clients, {len(latencies)}/{sent} delivered at "
        f"{args.rate:g}/s; p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
