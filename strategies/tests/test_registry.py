from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from strategies.library import REGISTRY, UnknownKind, build_model, validate_definition


def test_the_registry_has_trend_mean_reversion_and_a_learned_model() -> None:
    assert set(REGISTRY) == {"trend_following", "mean_reversion", "ml_direction"}
    assert [k for k, m in REGISTRY.items() if m.learned] == ["ml_direction"]
    for model in REGISTRY.values():
        assert model.rule and model.summary and model.PARAMS


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(UnknownKind):
        build_model("astrology")


def test_a_valid_definition_passes() -> None:
    validate_definition(
        kind="trend_following", params={"fast": 10}, markets=["BTC/USDT"], timeframe="4h"
    )


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        ({"kind": "astrology"}, "kind"),
        ({"params": {"fast": 0}}, "params"),
        ({"params": []}, "params"),
        ({"markets": []}, "markets"),
        ({"markets": ["BTCUSDT"]}, "markets"),
        ({"markets": ["BTC/USDT", "BTC/USDT"]}, "markets"),
        ({"timeframe": "3h"}, "timeframe"),
    ],
)
def test_each_bad_field_is_named(definition: dict, field: str) -> None:
    values: dict[str, Any] = {
        "kind": "trend_following",
        "params": {},
        "markets": ["BTC/USDT"],
        "timeframe": "4h",
    }
    values.update(definition)
    with pytest.raises(ValidationError) as error:
        validate_definition(**values)
    assert field in error.value.message_dict
