"""An encrypted model field that is safe to keep exchange secrets in.

Built on django-fernet-encrypted-fields' ``EncryptedTextField`` (the column
type and Fernet format), with the library's unsafe behaviour replaced:

- keys come from ``VAULT_KEYS``, not from ``SECRET_KEY``;
- a value that does not decrypt raises ``VaultDecryptionError`` instead of
  handing back the ciphertext;
- no "already decrypted" flag on the shared field object: values loaded from
  the database are wrapped in ``Sealed`` and opened on attribute access, so
  concurrent reads and form ``clean()`` never see each other's state;
- each value is bound to its model, field and the row's ``bind`` attributes
  (e.g. owner id and row UUID): a ciphertext copied elsewhere does not open;
- a row whose secret was never opened is re-saved with its ciphertext as is,
  so an undecryptable value is never encrypted a second time;
- plaintext can reach the column only through ``save()``: lookups and
  ``QuerySet.update()`` with a raw value are refused;
- no query can look inside the column: every lookup and transform but
  ``exact`` (which key rotation's compare-and-set uses, and which accepts only
  ciphertext) raises ``VaultLookupRefused``. ``regex``/``startswith``/
  ``contains``/``isnull``/``gt``… would otherwise skip ``get_prep_value`` or
  compare ciphertexts, and narrow rows by what is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import FieldError
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from encrypted_fields.fields import EncryptedTextField

from sealed.crypto import seal, unseal


class VaultLookupRefused(FieldError):
    """A query tried to look inside an encrypted column."""


# The only lookup code needs: rotation's compare-and-set on the exact ciphertext.
ALLOWED_LOOKUPS = frozenset({"exact"})


class Sealed(str):
    """Ciphertext as loaded from the database, not opened yet."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<sealed secret>"


class Ciphertext(str):
    """Ciphertext produced by ``pre_save``: the only value allowed into the column."""

    __slots__ = ()


# Set while Django copies field values between instances (refresh_from_db),
# so an unreadable secret is carried over sealed instead of failing the copy.
_COPYING_RAW: ContextVar[bool] = ContextVar("vault_copying_raw", default=False)


class SealedFieldsMixin:
    """Put first in the bases of a model with VaultFields.

    ``refresh_from_db()`` then works on rows whose secrets do not decrypt
    (to read their status, say); the secrets stay sealed until accessed.
    """

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        token = _COPYING_RAW.set(True)
        try:
            super().refresh_from_db(*args, **kwargs)  # type: ignore[misc]
        finally:
            _COPYING_RAW.reset(token)


class VaultAttribute(DeferredAttribute):
    """Opens the sealed value on access; a data descriptor, so it always runs."""

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = value

    def __get__(self, instance: models.Model | None, cls: type | None = None) -> Any:
        value = super().__get__(instance, cls)
        if instance is not None and isinstance(value, Sealed) and not _COPYING_RAW.get():
            return unseal(value, context=cast("VaultField", self.field).vault_context(instance))
        return value


if TYPE_CHECKING:
    # encrypted_fields ships no types: to the checker a VaultField is the text column it is.
    _SealedText = models.TextField
else:
    _SealedText = EncryptedTextField


class VaultField(_SealedText):  # type: ignore[type-arg]
    descriptor_class = VaultAttribute

    def __init__(self, *args: Any, bind: tuple[str, ...] = (), **kwargs: Any) -> None:
        self.bind = tuple(bind)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        kwargs["bind"] = self.bind
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    # The library's SECRET_KEY-derived keys must never be used.
    @property
    def keys(self) -> list[bytes]:
        raise AttributeError("VaultField takes its keys from VAULT_KEYS only")

    @property
    def f(self) -> Any:
        raise AttributeError("VaultField takes its keys from VAULT_KEYS only")

    def vault_context(self, instance: models.Model) -> str:
        parts = [instance._meta.label_lower, self.name]
        for attr in self.bind:
            value = getattr(instance, attr)
            if value is None:
                raise ValueError(f"{self.name} is bound to {attr}, which is not set yet")
            parts.append(f"{attr}={value}")
        return "|".join(parts)

    def raw_value(self, instance: models.Model) -> str | None:
        """The stored form of the value on ``instance`` without opening it."""
        return instance.__dict__.get(self.attname)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name not in ALLOWED_LOOKUPS:
            raise VaultLookupRefused(
                f"{self.name} is encrypted: it cannot be filtered with "
                f"'{lookup_name}' (only an exact ciphertext match is allowed)."
            )
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name: str) -> Any:
        raise VaultLookupRefused(
            f"{self.name} is encrypted: '{lookup_name}' cannot be applied to it."
        )

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else Sealed(value)

    def to_python(self, value: Any) -> Any:
        return value

    def clean(self, value: Any, model_instance: models.Model | None) -> Any:
        return models.TextField.clean(self, value, model_instance)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        raw = self.raw_value(model_instance)
        if raw is None or raw == "":
            return None
        if isinstance(raw, Sealed):
            return Ciphertext(raw)
        return Ciphertext(seal(str(raw), context=self.vault_context(model_instance)))

    def get_prep_value(self, value: Any) -> Any:
        if value is None or isinstance(value, Ciphertext):
            return None if value is None else str(value)
        raise TypeError(
            f"{self.name} is encrypted: set it on the instance and call save(); "
            "it cannot be filtered on or written with QuerySet.update()."
        )

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        return value if prepared else self.get_prep_value(value)

    def value_from_object(self, obj: models.Model) -> Any:
        # What forms, the admin and serializers see: never the secret.
        return ""

    def value_to_string(self, obj: models.Model) -> str:
        return ""
