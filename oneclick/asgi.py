import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneclick.settings")

# Django must be set up before anything imports models (consumers, routing).
django_asgi_app = get_asgi_application()

# The server process refuses to start on vault keys that cannot open earlier data.
from vault.selftest import check_vault_keys_at_start  # noqa: E402

check_vault_keys_at_start()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from oneclick.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
