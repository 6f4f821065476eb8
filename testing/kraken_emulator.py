"""A minimal Kraken spot endpoint on 127.0.0.1 for order tests, answered to the real ccxt.

It serves what the platform calls through ``ccxt.kraken`` to trade: asset pairs
assets and server time (``load_markets``), ticker, balance (``BalanceEx``), ``AddOrder`` (market orders
fill at once at the ticker price), ``QueryOrders``, ``OpenOrders`` /
``ClosedOrders`` (filtered by ``cl_ord_id``, as Kraken does) and
``TradesHistory``. Requests must be signed the way Kraken checks them
(``FakeKraken._signed_by``) with a key added by ``add_key``.

Faults: ``next_replies`` (from ``FakeExchangeServer``) answers the next call to a
path without executing it (the request never reached the matching engine);
``after_executing[path] = seconds`` executes the next call and then holds the
answer that long (a reply lost after the order was placed: the client times out).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from testing.http_fake import Call, Reply
from testing.kraken_fake import FakeKraken

PAIR_ID = "XBTUSDT"
PRICE = Decimal("50000.0")
PAIRS = {
    PAIR_ID: {
        "altname": "XBTUSDT", "wsname": "XBT/USDT", "aclass_base": "currency", "base": "XXBT",
        "aclass_quote": "currency", "quote": "USDT", "lot": "unit", "cost_decimals": 5,
        "pair_decimals": 1, "lot_decimals": 8, "lot_multiplier": 1, "leverage_buy": [],
        "leverage_sell": [], "fees": [[0, 0.26]], "fees_maker": [[0, 0.16]],
        "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40,
        "ordermin": "0.00005", "costmin": "0.5", "tick_size": "0.1", "status": "online",
    },
}  # fmt: skip


def _valid_cl_ord_id(value: str | None) -> bool:
    """Kraken's ``cl_ord_id``: a UUID with or without hyphens, or up to 18 characters."""
    if value is None or len(value) <= 18:
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) in (32, 36)


ASSETS = {
    "XXBT": {"aclass": "currency", "altname": "XBT", "decimals": 10, "display_decimals": 5,
             "status": "enabled"},
    "USDT": {"aclass": "currency", "altname": "USDT", "decimals": 8, "display_decimals": 4,
             "status": "enabled"},
}  # fmt: skip


class KrakenEmulator(FakeKraken):
    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.trades: dict[str, dict[str, Any]] = {}
        self.balances = {"USDT": Decimal("100000"), "XXBT": Decimal("10")}
        self.after_executing: dict[str, float] = {}
        self._ids = itertools.count(1)
        self._book = threading.Lock()
        super().__init__()

    def placed(self) -> int:
        """How many AddOrder requests the emulator carried out."""
        return len(self.orders)

    def answer(self, call: Call) -> Reply:
        if call.path.startswith("/0/public/"):
            return self._public(call)
        key = self.keys.get(call.header("API-Key"))
        if key is None:
            return Reply(200, {"error": ["EAPI:Invalid key"]})
        if not self._signed_by(call, key):
            return Reply(200, {"error": ["EAPI:Invalid signature"]})
        params = dict(parse_qsl(call.body.decode()))
        handler = getattr(self, "_" + call.path.removeprefix("/0/private/"), None)
        if handler is None:
            self.violate(f"unexpected private call {call.path}")
            return Reply(200, {"error": ["EGeneral:Unknown method"]})
        with self._book:
            result = handler(params)
        if isinstance(result, dict) and "error" in result:
            return Reply(200, result)  # refused: nothing was done
        delay = self.after_executing.pop(call.path, None)
        if delay is not None:
            time.sleep(delay)
        return Reply(200, {"error": [], "result": result})

    def _public(self, call: Call) -> Reply:
        name = call.path.removeprefix("/0/public/")
        if name == "AssetPairs":
            return Reply(200, {"error": [], "result": PAIRS})
        if name == "Assets":
            return Reply(200, {"error": [], "result": ASSETS})
        if name == "Time":
            now = time.time()
            return Reply(200, {"error": [], "result": {"unixtime": int(now), "rfc1123": ""}})
        if name == "Ticker":
            price = str(PRICE)
            ticker = {
                "a": [price, "1", "1.0"], "b": [price, "1", "1.0"], "c": [price, "0.1"],
                "v": ["10", "20"], "p": [price, price], "t": [5, 10], "l": [price, price],
                "h": [price, price], "o": price,
            }  # fmt: skip
            return Reply(200, {"error": [], "result": {PAIR_ID: ticker}})
        self.violate(f"unexpected public call {call.path}")
        return Reply(200, {"error": ["EGeneral:Unknown method"]})

    # --- private endpoints (under the book lock) ------------------------------------------
    def _Balance(self, params: dict[str, str]) -> dict[str, str]:
        return {asset: str(amount) for asset, amount in self.balances.items()}

    def _BalanceEx(self, params: dict[str, str]) -> dict[str, Any]:
        return {a: {"balance": str(v), "hold_trade": "0"} for a, v in self.balances.items()}

    def _AddOrder(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("pair") != PAIR_ID or params.get("ordertype") != "market":
            self.violate(f"unexpected order {params}")
            return {}
        if not _valid_cl_ord_id(params.get("cl_ord_id")):
            return {"error": ["EGeneral:Invalid arguments:cl_ord_id"]}
        txid = f"O{next(self._ids):05d}-EMUL-ATOR"
        volume = Decimal(params["volume"])
        cost = volume * PRICE
        sign = 1 if params["type"] == "buy" else -1
        self.balances["XXBT"] += sign * volume
        self.balances["USDT"] -= sign * cost
        trade_id = f"T{next(self._ids):05d}-EMUL-ATOR"
        now = time.time() + next(self._ids) / 1000  # distinct, ordered times
        self.trades[trade_id] = {
            "ordertxid": txid, "postxid": "", "pair": PAIR_ID, "time": now,
            "type": params["type"], "ordertype": "market", "price": str(PRICE),
            "cost": str(cost), "fee": "0", "vol": str(volume), "margin": "0", "misc": "",
        }  # fmt: skip
        self.orders[txid] = {
            "refid": None, "userref": 0, "cl_ord_id": params.get("cl_ord_id"),
            "status": "closed", "reason": None, "opentm": now, "closetm": now, "starttm": 0,
            "expiretm": 0, "vol": str(volume), "vol_exec": str(volume), "cost": str(cost),
            "fee": "0", "price": str(PRICE), "stopprice": "0", "limitprice": "0", "misc": "",
            "oflags": "fciq", "trades": [trade_id],
            "descr": {
                "pair": PAIR_ID, "type": params["type"], "ordertype": "market", "price": "0",
                "price2": "0", "leverage": "none",
                "order": f"{params['type']} {volume} {PAIR_ID} @ market", "close": "",
            },
        }  # fmt: skip
        return {"descr": {"order": self.orders[txid]["descr"]["order"]}, "txid": [txid]}

    def _QueryOrders(self, params: dict[str, str]) -> dict[str, Any]:
        if not params.get("txid"):
            return {"error": ["EGeneral:Invalid arguments"]}
        txids = [t for t in params.get("txid", "").split(",") if t]
        return {t: self.orders[t] for t in txids if t in self.orders}

    def _listed(self, params: dict[str, str], status: str) -> dict[str, Any]:
        wanted = params.get("cl_ord_id")
        return {
            txid: order
            for txid, order in self.orders.items()
            if order["status"] == status and (wanted is None or order["cl_ord_id"] == wanted)
        }

    def _OpenOrders(self, params: dict[str, str]) -> dict[str, Any]:
        return {"open": self._listed(params, "open")}

    def _ClosedOrders(self, params: dict[str, str]) -> dict[str, Any]:
        closed = self._listed(params, "closed")
        return {"closed": closed, "count": len(closed)}

    def _TradesHistory(self, params: dict[str, str]) -> dict[str, Any]:
        # Kraken answers 50 trades at a time, newest first.
        newest = dict(sorted(self.trades.items(), key=lambda t: -t[1]["time"])[:50])
        return {"trades": newest, "count": len(self.trades)}

    def trade_by_hand(self, times: int) -> None:
        """The owner buys on the account outside OneClick (newer trades than ours)."""
        for _ in range(times):
            with self._book:
                self._AddOrder(
                    {"pair": PAIR_ID, "ordertype": "market", "type": "buy", "volume": "0.0001"}
                )

    def _QueryTrades(self, params: dict[str, str]) -> dict[str, Any]:
        txids = [t for t in params.get("txid", "").split(",") if t]
        return {t: self.trades[t] for t in txids if t in self.trades}
