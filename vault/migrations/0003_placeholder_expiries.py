"""Expiries stored before 2000 were exchanges' placeholders (1 ms, 1 s after the
epoch), not dates: pages and emails showed them as "1970-01-01". They are no expiry
(vault.permissions.EARLIEST_EXPIRY)."""

import datetime as dt

from django.db import migrations

EARLIEST_EXPIRY = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def clear(apps, schema_editor):
    credentials = apps.get_model("vault", "ExchangeCredential")
    credentials.objects.filter(expires_at__lt=EARLIEST_EXPIRY).update(expires_at=None)
    credentials.objects.filter(expiry_warned_for__lt=EARLIEST_EXPIRY).update(
        expiry_warned_for=None
    )


class Migration(migrations.Migration):
    dependencies = [("vault", "0002_credentials")]

    operations = [migrations.RunPython(clear, migrations.RunPython.noop)]
