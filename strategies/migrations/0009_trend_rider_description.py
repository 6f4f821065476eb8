"""Trend Rider's shipped description, where staff have not edited it, says what its
risk overlay now does (issue 11: a 25 % volatility target; below the long average
it buys nothing rather than selling everything)."""

from django.db import migrations

OLD = (
    "Follows sustained moves of the large coins on 4-hour candles: in while the "
    "50-candle average is more than 1 % above the 200-candle one, out when it "
    "falls 1 % below. Its risk overlay holds a share of the allocation sized to "
    "the market's volatility, cut step by step near the 100-day average and as the "
    "market falls from its recent high, and nothing below that average or after a "
    "20 % fall. Expect small losses in sideways markets and a share of the large "
    "trends."
)
NEW = (
    "Follows sustained moves of the large coins on 4-hour candles: in while the "
    "50-candle average is more than 1 % above the 200-candle one, out when it "
    "falls 1 % below. Its risk overlay holds a share of the allocation sized to "
    "the market's volatility (for a 25 % a year swing, a third to half of what "
    "these coins move), cut step by step near the 100-day average and as the market "
    "falls from its recent high; it buys nothing below that average and holds "
    "nothing after a 20 % fall. Expect small losses in sideways markets and a "
    "share of the large trends."
)


def forwards(apps, schema_editor):
    Strategy = apps.get_model("strategies", "Strategy")
    Strategy.objects.filter(slug="trend-rider", description=OLD).update(description=NEW)


def backwards(apps, schema_editor):
    Strategy = apps.get_model("strategies", "Strategy")
    Strategy.objects.filter(slug="trend-rider", description=NEW).update(description=OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("strategies", "0008_backtest_trade_log"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
