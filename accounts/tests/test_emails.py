"""The accounts app's emails: in the test outbox, and once over real SMTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.core import mail

from accounts.emails import send_ip_whitelist_email, send_security_notice_email
from accounts.models import SecurityEvent, User

TEST_IPS = ["198.51.100.7", "198.51.100.8"]


@pytest.fixture
def egress_ips(settings) -> list[str]:
    settings.EGRESS_IPS = TEST_IPS
    settings.SITE_URL = "https://oneclick.example"
    return TEST_IPS


def test_the_ip_whitelist_email_lists_every_egress_address(
    user: User, egress_ips: list[str]
) -> None:
    send_ip_whitelist_email(user)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.subject == "[OneClick] Add our IP addresses to your exchange API key"
    for ip in egress_ips:
        assert f"- {ip}\n" in message.body
    assert "https://oneclick.example/account/ip-whitelist/" in message.body


def test_the_security_notice_says_what_changed(user: User, settings) -> None:
    settings.SITE_URL = "https://oneclick.example"

    send_security_notice_email(user, SecurityEvent.Kind.TWOFA_DISABLED)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert "Two-factor authentication turned off" in message.subject
    assert "Two-factor authentication turned off" in message.body
    assert "https://oneclick.example/account/security/" in message.body


class Collector:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        self.messages.append((envelope, message_from_bytes(content, policy=policy.default)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings) -> Iterator[Collector]:
    """A real SMTP server on loopback, and Django's SMTP backend pointed at it."""
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = controller.hostname
        settings.EMAIL_PORT = controller.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 10
        yield collector
    finally:
        controller.stop()


@pytest.mark.smtp
def test_the_ip_whitelist_email_goes_out_over_smtp(
    user: User, egress_ips: list[str], smtp_server: Collector
) -> None:
    send_ip_whitelist_email(user)

    assert mail.outbox == []  # it left through SMTP, not the test backend
    assert len(smtp_server.messages) == 1
    envelope, message = smtp_server.messages[0]
    assert envelope.rcpt_tos == [user.email]
    assert message["To"] == user.email
    assert message["Subject"] == "[OneClick] Add our IP addresses to your exchange API key"
    body = message.get_content()
    for ip in egress_ips:
        assert ip in body
    assert "https://oneclick.example/account/ip-whitelist/" in body


def test_an_alert_whose_subject_holds_a_line_break_is_still_sent_on_one_line(user: User) -> None:
    # Names stored before line breaks were refused reach subjects; failed before with
    # BadHeaderError, so the alert was never sent.
    from accounts.tasks import deliver_email

    deliver_email(user.pk, "Order failed on bot evil\r\nBcc: x@example.com", "body")
    [message] = mail.outbox
    assert message.subject == "[OneClick] Order failed on bot evil Bcc: x@example.com"
    assert message.bcc == []
