import pytest

from accounts.tests.conftest import authenticator, totp_device, user, verified_client  # noqa: F401


@pytest.fixture(autouse=True)
def in_memory_channel_layer(settings) -> None:
    # Live pushes stay in this process; the cross-process layers have their own test.
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
