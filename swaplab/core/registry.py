"""A small name -> builder registry shared by every plug-in point."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from swaplab.core.errors import SwaplabError

T = TypeVar("T")


class Registry(Generic[T]):
    """Dict registry with ``register(name)``, ``get(name, **cfg)`` and ``names()``.

    Parameters
    ----------
    kind : str
        What the registry holds ("detector", "FR backend", ...), used in errors.

    Examples
    --------
    >>> colours = Registry[str]("colour")
    >>> @colours.register("red")
    ... def red(*, shade: int = 1) -> str:
    ...     return f"red{shade}"
    >>> colours.get("red", shade=2)
    'red2'
    >>> colours.names()
    ['red']
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._builders: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator that registers a builder under ``name``; a duplicate raises."""

        def decorate(builder: Callable[..., T]) -> Callable[..., T]:
            if name in self._builders:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._builders[name] = builder
            return builder

        return decorate

    def get(self, name: str, **config: object) -> T:
        """Build the plug-in ``name`` with keyword-only ``config``."""
        try:
            builder = self._builders[name]
        except KeyError:
            valid = ", ".join(self.names()) or "none"
            raise SwaplabError(f"unknown {self.kind} {name!r}; choose one of: {valid}") from None
        return builder(**config)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._builders)
