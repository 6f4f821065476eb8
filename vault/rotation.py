"""Re-encrypt every sealed value under the newest vault key.

Safe to re-run (values already under the newest key are skipped) and to
interrupt (each row is updated on its own, only if nobody changed it since it
was read).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.db import models

from sealed.crypto import VaultDecryptionError, is_sealed_by_primary, reseal
from sealed.fields import Ciphertext, VaultField

BATCH = 500


@dataclass
class RotationReport:
    rotated: int = 0
    current: int = 0
    failed: list[str] = field(default_factory=list)


def vault_models() -> Iterator[tuple[type[models.Model], list[VaultField]]]:
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, VaultField)]
        if fields:
            yield model, fields


def _rows(model: type[models.Model]) -> Iterator[models.Model]:
    last = None
    while True:
        batch = model._base_manager.order_by("pk")
        if last is not None:
            batch = batch.filter(pk__gt=last)
        chunk = list(batch[:BATCH])
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].pk


def rotate_all() -> RotationReport:
    report = RotationReport()
    for model, fields in vault_models():
        for row in _rows(model):
            for vault_field in fields:
                raw = vault_field.raw_value(row)
                if raw is None:
                    continue
                context = vault_field.vault_context(row)
                if is_sealed_by_primary(raw, context=context):
                    report.current += 1
                    continue
                try:
                    fresh = reseal(raw, context=context)
                except VaultDecryptionError:
                    report.failed.append(f"{model._meta.label} {row.pk} {vault_field.name}")
                    continue
                model._base_manager.filter(
                    pk=row.pk, **{vault_field.attname: Ciphertext(raw)}
                ).update(**{vault_field.attname: Ciphertext(fresh)})
                report.rotated += 1
    return report
