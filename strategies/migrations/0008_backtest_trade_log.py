from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('strategies', '0007_signal_target_and_cost'),
    ]

    operations = [
        migrations.AddField(
            model_name='backtest',
            name='trade_log',
            field=models.JSONField(blank=True, default=list),
        ),
    ]
