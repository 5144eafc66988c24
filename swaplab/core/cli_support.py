"""What every CLI command shares: one clear line instead of a traceback on bad input."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from swaplab.core.errors import SwaplabError

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(command: F) -> F:
    """Turn :class:`SwaplabError` into ``error: <message>`` on stderr and exit status 2.

    Ctrl-C ends with status 130 and one line.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SwaplabError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(code=130) from None

    return wrapper  # type: ignore[return-value]


def new_app(help_text: str) -> typer.Typer:
    """A sub-application with the project's settings."""
    return typer.Typer(help=help_text, no_args_is_help=True, pretty_exceptions_enable=False,
                       add_completion=False)


def parse_tiers(entries: list[str] | tuple[str, ...]) -> dict[str, tuple[Path, ...]]:
    """``TIER=MANIFEST`` command-line entries -> {tier: manifests}, in the order given.

    The only place this text form is parsed: configs carry the mapping.
    """
    tiers: dict[str, list[Path]] = {}
    for entry in entries:
        tier, sep, path = entry.partition("=")
        if not sep or not tier or not path:
            raise SwaplabError(f"fake set {entry!r}: write it as TIER=MANIFEST, e.g. hq=fakes/faces.csv")
        tiers.setdefault(tier, []).append(Path(path))
    return {tier: tuple(paths) for tier, paths in tiers.items()}
