"""Links sent by email work once, for the address and account they were made for."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client

from accounts.models import User
from accounts.tests.test_signup_and_login import STRONG, reset_password

OTHER = "An0ther-long-passphrase-9!"


def test_a_password_reset_link_works_once(client: Client, user: User) -> None:
    reset_password(client, user, STRONG)
    bodies = " ".join(str(m.body) for m in mail.outbox)
    link = re.search(r"https?://[^/\s]+(/account/password/reset/key/[^\s]+/)", bodies)
    assert link
    again = Client()
    response = again.get(link.group(1))
    if response.status_code == 302:  # the key moved into the session, then checked
        response = again.post(response["Location"], {"password1": OTHER, "password2": OTHER})
    user.refresh_from_db()
    assert user.check_password(STRONG) and not user.check_password(OTHER)


def test_an_email_confirmation_key_confirms_only_its_own_address(
    client: Client, user: User
) -> None:
    from allauth.account.models import EmailAddress

    mine = EmailAddress.objects.create(user=user, email="second@example.com", verified=False)
    from accounts.tests.factories import UserFactory

    other = UserFactory()
    theirs = EmailAddress.objects.create(user=other, email="theirs@example.com", verified=False)
    from allauth.account.models import EmailConfirmationHMAC

    key = EmailConfirmationHMAC(mine).key
    tampered = key.replace(str(mine.pk), str(theirs.pk), 1)
    response = client.post(f"/account/confirm-email/{tampered}/")
    assert response.status_code in (200, 302, 404)
    theirs.refresh_from_db()
    assert not theirs.verified
