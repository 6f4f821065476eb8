from __future__ import annotations

import pytest
from django.conf import settings

from oneclick.queue_config import queue_config_problems

SOUND = {
    "timeout": 120,
    "retry": 180,
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 1000,
    "ack_failures": True,
}


def test_the_configured_cluster_is_sound() -> None:
    assert queue_config_problems(settings.Q_CLUSTER) == []


def test_a_sound_config_passes() -> None:
    assert queue_config_problems(SOUND) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": None}, "max_attempts"),
        ({"timeout": 180}, "timeout (180s) must be below retry (180s)"),
        ({"timeout": 300}, "must be below retry"),
        ({"retry": None}, "timeout and retry must both be set"),
        ({"catch_up": True}, "catch_up"),
        ({"ack_failures": False}, "failures must be kept"),
    ],
)
def test_an_unsafe_setting_is_named(change: dict, problem: str) -> None:
    problems = queue_config_problems({**SOUND, **change})
    assert any(problem in p for p in problems), problems


def test_catch_up_left_out_means_on_and_is_refused() -> None:
    conf = dict(SOUND)
    del conf["catch_up"]
    assert queue_config_problems(conf)
