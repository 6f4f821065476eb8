"""Concurrency tests' one way to start workers at once and collect what they raised."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def run_in_threads(
    work: Callable[[int], object], count: int, *, timeout: float = 60
) -> list[BaseException]:
    """Run ``work(0)`` … ``work(count - 1)``, one thread each, and return what they raised.

    An exception in a thread would otherwise only be printed; the test asserts the
    list is empty instead. Each thread closes its own database connections (Django
    opens one per thread) so the test database can be dropped afterwards.
    """
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            work(n)
        except BaseException as exc:  # handed back to the test's thread
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return failures
