"""How an order is named on each exchange so it can be found again, and how it is found.

Exactly once rests on finding an order in doubt (a timeout, a 5xx, an unreadable
reply) by the name we gave it before sending. Each exchange takes a different
name, and ccxt 4.5.90 looks it up differently:

- Binance, Binance US, the paper exchange: our ``client_order_id`` as
  ``newClientOrderId``; ``fetch_order(None, symbol, {'clientOrderId': …})`` finds it.
- Kraken: ``cl_ord_id`` takes a UUID (or 18 characters of free text), not our
  32-character id, so the order carries a UUID derived from it (uuid5: the
  same order always gets the same one). ccxt's ``fetch_order`` sends a client id
  as the integer ``userref`` and needs a ``txid``, so it cannot find it; its
  ``fetch_open_orders`` / ``fetch_closed_orders`` pass ``cl_ord_id`` through as a
  filter, and those are asked instead.
- Bitvavo (createOrder needs an ``operatorId`` we are not given) and One Trading
  (no lookup by client id in ccxt): order placement is not available
  (``vault.exchanges.placement_unavailable``); they never get this far.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

import ccxt

from trading.models import Order

# Fixed forever: changing it renames every Kraken order in doubt, which then could
# not be found and would be sent again.
KRAKEN_NAMESPACE = uuid.UUID("6f1c2a43-5b0e-4d8e-9c1e-0e5f3b7a9d21")

__all__ = ["create_params", "exchange_client_id", "find", "trade_ids"]


def exchange_client_id(order: Order) -> str:
    """The client order id the exchange knows the order by (derived, never stored)."""
    if order.exchange_id == "kraken":
        return str(uuid.uuid5(KRAKEN_NAMESPACE, order.client_order_id))
    return order.client_order_id


def create_params(order: Order) -> dict[str, Any]:
    """The ``create_order`` params that name the order."""
    return {"clientOrderId": exchange_client_id(order)}


def find(order: Order, api: Any) -> dict[str, Any] | None:
    """The exchange's order named by ``exchange_client_id``, or None when it has none.

    ccxt errors (timeouts, outages) are raised: a failed lookup is not "none"."""
    if order.exchange_id == "kraken":
        return _find_kraken(order, api)
    return _find_by_client_order_id(order, api)


def trade_ids(order: Order, reply: Any) -> list[str]:
    """The ids of the order's trades its own reply lists, where the exchange's trade
    lookup needs them (Kraken QueryOrders with ``trades``); [] elsewhere."""
    if order.exchange_id != "kraken" or not isinstance(reply, dict):
        return []
    ids = (reply.get("info") or {}).get("trades")
    return [str(i) for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def _named(order: Order, candidates: Any) -> dict[str, Any] | None:
    wanted = exchange_client_id(order)
    for candidate in candidates or []:
        # Checked, not trusted to the filter: an exchange that ignored it lists others.
        if isinstance(candidate, dict) and candidate.get("clientOrderId") == wanted:
            return candidate
    return None


def _find_kraken(order: Order, api: Any) -> dict[str, Any] | None:
    params = {"clientOrderId": exchange_client_id(order)}
    found = _named(order, api("fetch_open_orders", order.market, None, None, params))
    if found is None:
        found = _named(order, api("fetch_closed_orders", order.market, None, None, params))
    return found


def _find_by_client_order_id(order: Order, api: Any) -> dict[str, Any] | None:
    try:
        found = api("fetch_order", None, order.market, {"clientOrderId": order.client_order_id})
        if found:
            return cast("dict[str, Any]", found)
    except ccxt.OrderNotFound:
        pass
    # An exchange may list a new order in open orders or trades before fetch_order finds it.
    found = _named(order, api("fetch_open_orders", order.market))
    if found is not None:
        return found
    for trade in api("fetch_my_trades", order.market, None, 50):
        info_id = (trade.get("info") or {}).get("clientOrderId")
        if info_id == order.client_order_id and trade.get("order"):
            return cast("dict[str, Any]", api("fetch_order", trade["order"], order.market))
    return None
