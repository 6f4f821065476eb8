import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneclick.settings")

application = get_wsgi_application()

# The server process refuses to start on vault keys that cannot open earlier data.
from vault.selftest import check_vault_keys_at_start  # noqa: E402

check_vault_keys_at_start()
