from __future__ import annotations

import math

import pytest

from accounts.backup_codes import (
    ALPHABET,
    CODE_BITS,
    code_digest,
    generate_code,
    normalize_code,
    remaining_backup_codes,
    replace_backup_codes,
)
from accounts.models import BackupCode


def test_codes_carry_at_least_112_bits_of_entropy() -> None:
    code = normalize_code(generate_code())
    assert CODE_BITS >= 112
    assert len(code) * math.log2(len(ALPHABET)) >= 112


def test_codes_are_distinct_and_readable() -> None:
    codes = {generate_code() for _ in range(500)}
    assert len(codes) == 500
    sample = next(iter(codes))
    assert len(sample.split("-")) == 6
    assert not set(normalize_code(sample)) & set("ILOU")


def test_normalizing_forgives_case_spaces_dashes_and_lookalikes() -> None:
    assert normalize_code("ab1o-il 2z") == "AB10112Z"


@pytest.mark.django_db
def test_only_hashes_are_stored(user) -> None:
    codes = replace_backup_codes(user=user, count=10)
    stored = set(BackupCode.objects.values_list("digest", flat=True))
    assert len(stored) == 10
    for code in codes:
        assert code_digest(code) in stored
        assert normalize_code(code) not in stored and code not in stored


@pytest.mark.django_db
def test_replacing_invalidates_the_old_codes(user) -> None:
    old = replace_backup_codes(user=user, count=5)
    replace_backup_codes(user=user, count=5)
    assert remaining_backup_codes(user) == 5
    assert not BackupCode.objects.filter(digest=code_digest(old[0])).exists()
