from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from oneclick.local_secrets import fernet_key, local_secret, random_secret


def test_a_secret_is_generated_once_and_then_reused(tmp_path) -> None:
    first = local_secret(tmp_path, "KEY", generate=random_secret)
    assert local_secret(tmp_path, "KEY", generate=random_secret) == first


def test_racing_starters_agree_on_one_secret(tmp_path) -> None:
    with ThreadPoolExecutor(8) as pool:
        values = set(
            pool.map(lambda _: local_secret(tmp_path, "K", generate=fernet_key), range(32))
        )
    assert len(values) == 1
    assert [p.name for p in (tmp_path / "secrets").iterdir()] == ["K"]
