from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from accounts.models import TOTPDevice
from accounts.totp import base32_secret, new_totp_key, provisioning_uri, totp_code, totp_time_step


def test_it_matches_the_rfc_6238_test_vector() -> None:
    # RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits) -> last 6 digits.
    key = b"12345678901234567890".hex()
    assert totp_code(key, now=59, digits=8) == "94287082"
    assert totp_code(key, now=59) == "287082"


def test_it_finds_the_time_step_within_tolerance() -> None:
    device = TOTPDevice(key=new_totp_key(), step=30, digits=6, tolerance=1)
    now = 1_800_000_000
    assert totp_time_step(device, totp_code(device.key, now=now), now=now) == now // 30
    assert totp_time_step(device, totp_code(device.key, now=now - 30), now=now) == now // 30 - 1
    assert totp_time_step(device, totp_code(device.key, now=now - 90), now=now) is None


def test_the_provisioning_uri_carries_the_secret_and_issuer() -> None:
    key = new_totp_key()
    uri = urlparse(provisioning_uri(hex_key=key, account="a@example.com"))
    query = parse_qs(uri.query)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert query["secret"] == [base32_secret(key)]
    assert query["issuer"] == ["OneClick"]
    assert len(bytes.fromhex(key)) == 20
