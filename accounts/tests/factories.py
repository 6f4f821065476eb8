from __future__ import annotations

from typing import cast

import factory
from allauth.account.models import EmailAddress

from accounts.models import TOTPDevice, User
from accounts.totp import new_totp_key
from oneclick.tests.typed_factory import ModelFactory

PASSWORD = "a-Long-unguessable-passphrase-42"


class UserFactory(ModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified_email(self, create: bool, extracted: bool | None, **kwargs: object) -> None:
        user = cast(User, self)  # a post-generation hook receives the object built
        user.save()
        if create and extracted is not False:
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)


class TOTPDeviceFactory(ModelFactory[TOTPDevice]):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "Authenticator app"
    confirmed = True
    key = factory.LazyFunction(new_totp_key)
