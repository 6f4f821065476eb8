"""Create the database cache table whenever a database cache is configured.

The embedded default throttles logins and one-time codes through a database
cache (shared by every process); `migrate` alone must leave it ready.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = []
    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
