from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):

    dependencies = [
        ('trading', '0006_fill_bot'),
    ]

    operations = [
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
