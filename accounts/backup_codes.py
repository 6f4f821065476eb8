"""Single-use backup codes: 120 random bits each, only their SHA-256 stored.

django-otp's static tokens are 40-bit and kept in plain text. A slow hash is
not needed here: with 120 bits of entropy a stolen digest cannot be brute-forced.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from accounts.models import BackupCode, BackupCodeDevice, User

# Crockford's base32: no I, L, O or U, so codes survive being read aloud or typed.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_BITS = 120
CODE_CHARS = CODE_BITS // 5  # 24 characters
_TYPO_MAP = str.maketrans({"I": "1", "L": "1", "O": "0"})


def generate_code() -> str:
    number = secrets.randbits(CODE_BITS)
    chars = []
    for _ in range(CODE_CHARS):
        number, index = divmod(number, 32)
        chars.append(ALPHABET[index])
    raw = "".join(chars)
    return "-".join(raw[i : i + 4] for i in range(0, CODE_CHARS, 4))


def normalize_code(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum()).translate(_TYPO_MAP)


def code_digest(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def looks_like_backup_code(code: str) -> bool:
    normalized = normalize_code(code)
    return len(normalized) == CODE_CHARS and all(c in ALPHABET for c in normalized)


@transaction.atomic
def replace_backup_codes(*, user: User, count: int) -> list[str]:
    """Discard the user's backup codes and return ``count`` new ones (shown once)."""
    device, _ = BackupCodeDevice.objects.get_or_create(
        user=user, defaults={"name": "Backup codes", "confirmed": True}
    )
    device.codes.all().delete()
    codes = [generate_code() for _ in range(count)]
    BackupCode.objects.bulk_create(BackupCode(device=device, digest=code_digest(c)) for c in codes)
    return codes


def use_backup_code(*, device: BackupCodeDevice, code: str) -> bool:
    """Spend a code. A conditional UPDATE makes it single-use across processes."""
    if not looks_like_backup_code(code):
        return False
    spent = BackupCode.objects.filter(
        device=device, digest=code_digest(code), used_at__isnull=True
    ).update(used_at=timezone.now())
    return spent == 1


def remaining_backup_codes(user: User) -> int:
    return BackupCode.objects.filter(device__user=user, used_at__isnull=True).count()
