from django.db import migrations, models
import django.db.models.deletion

# Copy each fill's bot from its order in one statement (both SQLite and PostgreSQL
# accept the correlated subquery). NOT NULL comes in the next migration: PostgreSQL
# refuses to ALTER a table with deferred foreign-key checks pending in the same
# transaction, which this UPDATE leaves.
FILL_BOTS = (
    "UPDATE trading_fill SET bot_id = "
    "(SELECT o.bot_id FROM trading_order o WHERE o.id = trading_fill.order_id)"
)


class Migration(migrations.Migration):

    dependencies = [
        ('trading', '0005_fill_booked'),
    ]

    operations = [
        migrations.AddField(
            model_name='fill',
            name='bot',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='fills', to='trading.bot'),
        ),
        migrations.RunSQL(FILL_BOTS, migrations.RunSQL.noop),
    ]
