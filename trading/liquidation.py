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


def liquidation_order_id(bot: Bot, position: Position, round_: int = 0) -> str:
    """Deterministic per (bot, market, round): a retried task continues its round's sell;
    a new round exists only once the last one is settled (a buy that filled late)."""
    suffix = f":{round_}" if round_ else ""  # the first round keeps the id it always had
    digest = hashlib.sha256(f"{bot.pk}:liquidate:{position.market}{suffix}".encode()).hexdigest()
    return f"ocx{digest[:29]}"


def _rounds(bot: Bot, position: Position) -> list[Order]:
    """The bot's liquidation sells of this market so far, oldest first."""
    ids: list[str] = []
    for round_ in range(100):
        ids.append(liquidation_order_id(bot, position, round_))
        found = {o.client_order_id: o for o in Order.objects.filter(client_order_id__in=ids)}
        if ids[-1] not in found:
            return [found[i] for i in ids[:-1]]
    return list(Order.objects.filter(client_order_id__in=ids).order_by("created_at"))


def sell_position(bot: Bot, position: Position, api: Any) -> str | None:
    """Place (or continue) the market sell of ``position``; a problem text or None.

    A sell still unsettled is continued; once it is settled, what the bot still holds
    (a buy in doubt at the stop that filled later) is sold by a new round."""
    try:
        markets = api("load_markets")
    except (ccxt.BaseError, RateLimited) as exc:
        return f"Could not sell {position.market}: {type(exc).__name__}"
    rules = MarketRules.from_ccxt(markets.get(position.market, {}))
    try:
        with transaction.atomic():
            # Under the bot's lock, net of sells still in flight: never more than is held.
            locked = Bot.objects.select_for_update().get(pk=bot.pk)
            rounds = _rounds(locked, position)
            order = rounds[-1] if rounds and not rounds[-1].settled else None
            if order is None:
                held = locked.positions.get(pk=position.pk).amount
                amount = to_step(
                    held - reserved(locked, market=position.market)[1], rules.amount_step
                )
                if amount <= 0:
                    if rounds:
                        return None  # sold by an earlier round: nothing left
                    return f"{position.market}: the position is below the smallest tradable amount."
                client_id = liquidation_order_id(locked, position, len(rounds))
                order = Order.objects.create(
                    client_order_id=client_id, bot=locked, credential_id=locked.credential_id,
                    exchange_id=bot.credential.exchange_id, market=position.market,
                    side="sell", type="market", amount=amount, reserved=amount,
                )  # fmt: skip
    except IntegrityError:  # another process wrote it first: continue that one
        order = _rounds(bot, position)[-1]
    advance(order, api=api)
    order.refresh_from_db()
    if order.status == Order.Status.REJECTED:
        return f"{position.market}: the exchange refused the sell ({order.error})."
    return None
