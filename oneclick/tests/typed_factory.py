"""A factory_boy base whose call the type checker reads as the model it creates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from factory.django import DjangoModelFactory

T = TypeVar("T")


class ModelFactory(DjangoModelFactory[T]):
    """`BotFactory()` is a Bot to mypy too (factory_boy types `create()`, not the call)."""

    class Meta:
        abstract = True

    if TYPE_CHECKING:
        # factory_boy returns the model from __new__ at run time; mypy only allows a
        # __new__ typed to return its own class, hence the one ignore.
        def __new__(cls, *args: Any, **kwargs: Any) -> T: ...  # type: ignore[misc]
