"""One execution task per active bot subscribed to a signal's strategy. Ids only."""

from __future__ import annotations

from django_q.tasks import async_task

from trading.models import Bot


def fan_out(signal_ids: list[str]) -> int:
    from strategies.models import Signal

    queued = 0
    signals = Signal.objects.filter(pk__in=signal_ids).values_list("pk", "strategy_id")
    for signal_id, strategy_id in signals:
        bot_ids = Bot.objects.filter(strategy_id=strategy_id, status=Bot.Status.ACTIVE).values_list(
            "pk", flat=True
        )
        for bot_id in bot_ids:
            async_task("trading.tasks.execute_signal", str(bot_id), str(signal_id))
            queued += 1
    return queued
