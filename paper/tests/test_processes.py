"""Two worker processes trading ONE paper account at the same moment.

Real processes (``manage.py shell -c``) on the test database, not threads: the
account lock must hold across connections and processes. Between them they ask
for more than the account holds, and race for the same client order ids.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from paper.config import PaperConfig
from paper.exchange import PaperExchange
from paper.models import PaperBalance, PaperOrder, PaperTrade

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "paper-two-processes", "paper-two-processes-secret"
ORDERS_EACH = 25
SHARED_IDS = 10

WORKER = """
import json, os, time
import ccxt
from paper.config import PaperConfig
from paper.exchange import PaperExchange
config = PaperConfig.from_settings(rate_limit_per_minute=None, order_limit_per_10s=None)
exchange = PaperExchange(apiKey=os.environ["KEY"], secret=os.environ["SECRET"], config=config)
name = os.environ["NAME"]
placed, refused, duplicates = [], 0, 0
time.sleep(max(0.0, float(os.environ["START_AT"]) - time.time()))
for n in range(int(os.environ["ORDERS_EACH"])):
    client_id = f"shared-{n}" if n < int(os.environ["SHARED_IDS"]) else f"{name}-{n}"
    try:
        order = exchange.create_order("ETH/USDT", "market", "buy", "0.02",
                                      params={"clientOrderId": client_id})
        placed.append({"id": order["id"], "filled": order["filled"],
                       "trades": [t["id"] for t in order["trades"]]})
    except ccxt.InsufficientFunds:
        refused += 1
    except ccxt.InvalidOrder as error:
        assert "Duplicate order sent" in str(error), error
        duplicates += 1
print("RESULT " + json.dumps({"placed": placed, "refused": refused, "duplicates": duplicates}))
"""


def _database_env() -> dict[str, str]:
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": str(name)}
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    return {"DATABASE_URL": f"{url}/{name}"}


def _start(name: str, start_at: float) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        **_database_env(),
        "DJANGO_SETTINGS_MODULE": "oneclick.settings",
        "KEY": KEY,
        "SECRET": SECRET,
        "NAME": name,
        "START_AT": str(start_at),
        "ORDERS_EACH": str(ORDERS_EACH),
        "SHARED_IDS": str(SHARED_IDS),
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", WORKER],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _result(worker: subprocess.Popen[str]) -> dict:
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, output
    (line,) = [line for line in output.splitlines() if line.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT "))


def test_two_processes_on_one_account_never_overspend_nor_lose_a_fill(
    paper_config: PaperConfig,
) -> None:
    # About 25 orders' worth of money for 50 attempts, 10 of them with contested ids.
    funded = PaperConfig(starting_balances={"USDT": Decimal("1500")}, rate_limit_per_minute=None)
    PaperExchange(apiKey=KEY, secret=SECRET, config=funded).fetch_balance()
    start_at = time.time() + 4  # both have loaded Django by then
    results = [_result(worker) for worker in [_start("a", start_at), _start("b", start_at)]]

    placed = [order for result in results for order in result["placed"]]
    assert sum(result["duplicates"] for result in results) == SHARED_IDS  # one winner per id
    assert sum(result["refused"] for result in results) > 0  # the money ran out
    assert len(placed) + sum(r["refused"] + r["duplicates"] for r in results) == 2 * ORDERS_EACH
    # Every order a worker was told about is there with exactly the fills it was told of.
    orders = PaperOrder.objects.filter(account__api_key=KEY)
    assert sorted(str(pk) for pk in orders.values_list("pk", flat=True)) == sorted(
        order["id"] for order in placed
    )
    trades = PaperTrade.objects.filter(account__api_key=KEY)
    assert sorted(str(pk) for pk in trades.values_list("pk", flat=True)) == sorted(
        trade for order in placed for trade in order["trades"]
    )
    # The books balance to the cent: nothing spent twice, nothing lost.
    spent = sum((t.cost + t.fee for t in trades), Decimal(0))
    usdt = PaperBalance.objects.get(account__api_key=KEY, asset="USDT")
    eth = PaperBalance.objects.get(account__api_key=KEY, asset="ETH")
    assert usdt.free >= 0 and usdt.used == 0
    assert usdt.free == Decimal(1500) - spent
    assert eth.free == sum((t.amount for t in trades), Decimal(0)) == Decimal("0.02") * len(placed)
