from accounts.tests.conftest import authenticator, totp_device, user, verified_client  # noqa: F401
