"""How money and times read on every page: one place, used by the template filters.

Amounts are shown to the precision people expect of the asset (cents for the
quote currencies, satoshis for bitcoin), with thousands separators, never as a
raw ``Decimal`` such as ``60098.280000000000``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from oneclick.formatting import DASH, to_decimal

# Decimals shown per asset; anything not listed is a crypto asset shown to 8.
PRECISION = {
    "USDT": 2, "USDC": 2, "USD": 2, "EUR": 2, "GBP": 2, "BUSD": 2, "FDUSD": 2, "DAI": 2,
    "BTC": 8, "ETH": 6, "BNB": 6, "SOL": 4, "XRP": 2, "ADA": 2, "DOGE": 2,
}  # fmt: skip
QUOTE_PLACES = 2
MAX_PLACES = 8


def asset_of(unit: str) -> str:
    """``"BTC/USDT"`` → ``"BTC"`` (an amount traded on a market is in its base asset)."""
    return unit.split("/")[0].upper() if unit else ""


def places_for(asset: str, number: Decimal) -> int:
    places = PRECISION.get(asset, MAX_PLACES)
    # A price below one cent (e.g. a meme coin in USDT) keeps four significant digits.
    if number and abs(number) < 1 and places < MAX_PLACES:
        leading_zeros = -abs(number).adjusted() - 1
        places = min(MAX_PLACES, max(places, leading_zeros + 4))
    return places


def format_money(
    value: object, unit: str = "", *, signed: bool = False, with_unit: bool = True
) -> str:
    """``Decimal("60098.280000000000"), "USDT"`` → ``"60,098.28 USDT"``; None → a dash.

    Quote currencies keep their cents ("1,000.00 USDT"); crypto amounts drop
    trailing zeros past the asset's precision ("0.01664 BTC").
    """
    number = to_decimal(value)
    if number is None:
        return DASH
    asset = asset_of(unit)
    places = places_for(asset, number)
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = _trim(f"{rounded:,.{places}f}", PRECISION.get(asset, MAX_PLACES))
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")  # "-0.00" reads as a loss that is not there
    elif signed and rounded > 0:
        text = "+" + text
    return f"{text} {asset}" if with_unit and asset else text


def _trim(text: str, standard: int) -> str:
    """Drop zeros past the asset's standard decimals; crypto drops them all."""
    if "." not in text:
        return text
    whole, fraction = text.split(".")
    keep = standard if standard <= QUOTE_PLACES else 0
    fraction = fraction.rstrip("0").ljust(keep, "0")
    return f"{whole}.{fraction}" if fraction else whole


def plain_amount(value: object, unit: str) -> str:
    """A value for an input box or a CSV cell: the asset's precision, no separators."""
    number = to_decimal(value)
    if number is None:
        return ""
    places = places_for(asset_of(unit), number)
    text = f"{number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
