"""Real worker processes against the test database, started to race each other.

Each worker is ``manage.py shell -c CODE`` with the test's database and the
emulator's address in its environment; it sleeps until a start time shared by
all workers, so their work overlaps for real (Django's start-up, a second or
more, would otherwise decide who goes first).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
START_DELAY = 6.0  # seconds for every worker to import Django before the start


def database_env() -> dict[str, str]:
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": str(name)}
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    return {"DATABASE_URL": f"{url}/{name}"}


def spawn_together(codes: list[str], env: dict[str, str]) -> list[str]:
    """Run each code in its own process, all starting at the same moment; their outputs.

    Fails the test when a worker fails or does not finish within two minutes.
    """
    start_at = time.time() + START_DELAY
    wait = "import os, time\ntime.sleep(max(0.0, float(os.environ['START_AT']) - time.time()))\n"
    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", wait + code],
            cwd=ROOT,
            env={
                **os.environ,
                **database_env(),
                **env,
                "START_AT": str(start_at),
                "DJANGO_SETTINGS_MODULE": "oneclick.settings",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for code in codes
    ]
    outputs = []
    for worker in workers:
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, output
        outputs.append(output)
    return outputs


def emulator_env(url: str) -> dict[str, str]:
    return {"EXCHANGE_URL_OVERRIDES": json.dumps({"binance": url})}
