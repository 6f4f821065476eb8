from django.db import migrations, models
import django.db.models.deletion

# Copy each fill's bot from its order in one statement (both SQLite and PostgreSQL
# accept the correlated subquery); then the column can be NOT NULL.
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
        migrations.AlterField(
            model_name='fill',
            name='bot',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='fills', to='trading.bot'),
        ),
        migrations.AddIndex(
            model_name='fill',
            index=models.Index(fields=['bot', 'taken_at', 'id'], name='fill_bot_taken'),
        ),
    ]
