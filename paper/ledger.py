"""An account's balances during one locked transaction: free and reserved money."""

from __future__ import annotations

from decimal import Decimal

from paper import fastsql
from paper.models import PaperAccount, PaperBalance


class Ledger:
    """Balance moves for one account; ``save()`` writes the rows that changed.

    Callers hold the account row lock, so nothing else writes these rows meanwhile.
    """

    def __init__(self, account: PaperAccount) -> None:
        self.account = account
        self._loaded: dict[str, PaperBalance] | None = None
        self._dirty: set[str] = set()

    @property
    def _rows(self) -> dict[str, PaperBalance]:
        # Read on first use, unless a caller read them along with something else.
        if self._loaded is None:
            self.preload(fastsql.balances(self.account))
        return self._loaded  # type: ignore[return-value]

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def preload(self, rows: list[PaperBalance]) -> None:
        if self._loaded is None:
            self._loaded = {row.asset: row for row in rows}

    def _row(self, asset: str) -> PaperBalance:
        row = self._rows.get(asset)
        if row is None:
            row = PaperBalance(account=self.account, asset=asset)
            self._rows[asset] = row
        self._dirty.add(asset)
        return row

    def free(self, asset: str) -> Decimal:
        row = self._rows.get(asset)
        return row.free if row else Decimal(0)

    def reserve(self, asset: str, amount: Decimal) -> None:
        row = self._row(asset)
        if amount > row.free:
            raise ValueError("reserve exceeds the free balance")  # callers check first
        row.free -= amount
        row.used += amount

    def release(self, asset: str, amount: Decimal) -> None:
        row = self._row(asset)
        row.used -= amount
        row.free += amount

    def spend_reserved(self, asset: str, amount: Decimal) -> None:
        self._row(asset).used -= amount

    def spend_free(self, asset: str, amount: Decimal) -> None:
        row = self._row(asset)
        if amount > row.free:
            raise ValueError("spend exceeds the free balance")  # callers check first
        row.free -= amount

    def credit(self, asset: str, amount: Decimal) -> None:
        self._row(asset).free += amount

    def rows(self) -> list[PaperBalance]:
        return sorted(self._rows.values(), key=lambda row: row.asset)

    def changes(self) -> list[tuple[PaperBalance, tuple[str, ...]]]:
        """The changed rows to UPDATE; rows new to the account are inserted here."""
        changed = [self._rows[asset] for asset in sorted(self._dirty)]
        self._dirty.clear()
        new = [row for row in changed if row.pk is None]
        fastsql.insert(new)  # written as they are
        existing = [row for row in changed if all(row is not other for other in new)]
        return [(row, ("free", "used")) for row in existing]

    def save(self) -> None:
        fastsql.update_many(self.changes())
