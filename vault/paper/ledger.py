"""An account's balances during one locked transaction: free and reserved money."""

from __future__ import annotations

from decimal import Decimal

from vault.paper.models import PaperAccount, PaperBalance


class Ledger:
    """Balance moves for one account; ``save()`` writes the rows that changed.

    Callers hold the account row lock, so nothing else writes these rows meanwhile.
    """

    def __init__(self, account: PaperAccount) -> None:
        self.account = account
        self._rows = {row.asset: row for row in PaperBalance.objects.filter(account=account)}
        self._dirty: set[str] = set()

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

    def save(self) -> None:
        for asset in sorted(self._dirty):
            self._rows[asset].save()
        self._dirty.clear()
