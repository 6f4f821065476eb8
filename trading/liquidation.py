"""Selling a stopped bot's position back to the quote currency, exactly once."""

from __future__ import annotations

import hashlib
from typing import Any

import ccxt
from django.db import IntegrityError, transaction

from strategies.sizing import MarketRules, to_step
from trading.exchange_calls import RateLimited
from trading.models import Bot, Order, Position
from trading.orders import advance, reserved


def liquidation_order_id(bot: Bot, position: Position) -> str:
    digest = hashlib.sha256(f"{bot.pk}:liquidate:{position.market}".encode()).hexdigest()
    return f"ocx{digest[:29]}"


def sell_position(bot: Bot, position: Position, api: Any) -> str | None:
    """Place (or continue) the market sell of ``position``; a problem text or None."""
    try:
        markets = api("load_markets")
    except (ccxt.BaseError, RateLimited) as exc:
        return f"Could not sell {position.market}: {type(exc).__name__}"
    rules = MarketRules.from_ccxt(markets.get(position.market, {}))
    client_id = liquidation_order_id(bot, position)
    try:
        with transaction.atomic():
            # Under the bot's lock, net of sells still in flight: never more than is held.
            locked = Bot.objects.select_for_update().get(pk=bot.pk)
            order = Order.objects.filter(client_order_id=client_id).first()
            if order is None:
                held = locked.positions.get(pk=position.pk).amount
                amount = to_step(
                    held - reserved(locked, market=position.market)[1], rules.amount_step
                )
                if amount <= 0:
                    return f"{position.market}: the position is below the smallest tradable amount."
                order = Order.objects.create(
                    client_order_id=client_id, bot=locked, credential_id=locked.credential_id,
                    exchange_id=bot.credential.exchange_id, market=position.market,
                    side="sell", type="market", amount=amount, reserved=amount,
                )  # fmt: skip
    except IntegrityError:  # another process wrote it first: continue that one
        order = Order.objects.get(client_order_id=client_id)
    advance(order, api=api)
    order.refresh_from_db()
    if order.status == Order.Status.REJECTED:
        return f"{position.market}: the exchange refused the sell ({order.error})."
    return None
