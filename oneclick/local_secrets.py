"""Secrets generated once for the embedded default, kept under ``var/``.

Production never reaches this module: a missing secret there stops start-up.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet


def random_secret() -> str:
    return secrets.token_urlsafe(50)


def fernet_key() -> str:
    return Fernet.generate_key().decode()


def local_secret(var_dir: Path, name: str, *, generate: Callable[[], str]) -> str:
    """Return the secret stored in ``var_dir/secrets/name``, creating it once."""
    folder = var_dir / "secrets"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / name
    if not path.exists():
        # Write aside, then link into place: link fails if another process
        # got there first, so two processes starting together agree on one key.
        tmp = folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        tmp.write_text(generate())
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
