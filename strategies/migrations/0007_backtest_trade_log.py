from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('strategies', '0006_backtest_exchange'),
    ]

    operations = [
        migrations.AddField(
            model_name='backtest',
            name='trade_log',
            field=models.JSONField(blank=True, default=list),
        ),
    ]
