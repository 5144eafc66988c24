"""Stage configs: frozen dataclasses, filled from defaults < --config file < command line."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any, TypeVar

import swaplab
from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import write_json_atomic

C = TypeVar("C")


def _coerce(kind: Any, value: Any) -> Any:
    """Turn a JSON value back into the field's declared type (Path, tuple)."""
    if value is None:
        return None
    if kind is Path or kind == (Path | None):
        return Path(value)
    origin = typing.get_origin(kind)
    if origin is tuple and isinstance(value, list | tuple):
        item = typing.get_args(kind)[0] if typing.get_args(kind) else None
        return tuple(Path(v) if item is Path else v for v in value)
    if origin is dict and isinstance(value, dict):
        inner = typing.get_args(kind)[1]
        return {str(key): _coerce(inner, val) for key, val in value.items()}
    return value


def build_config(cls: type[C], config_file: Path | None = None, **cli_values: Any) -> C:
    """Build a stage config from a JSON file and command-line values.

    Parameters
    ----------
    cls : type
        The stage's frozen config dataclass.
    config_file : Path, optional
        JSON object whose keys are field names of ``cls``.
    **cli_values
        Values from the command line; ``None`` means "not given" and does not
        override the file or the default.
    """
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(_read_config_file(cls, Path(config_file)))
    values.update({key: val for key, val in cli_values.items() if val is not None})
    hints = typing.get_type_hints(cls)
    coerced = {key: _coerce(hints[key], val) for key, val in values.items()}
    try:
        return cls(**coerced)
    except TypeError as err:
        raise SwaplabError(f"bad configuration for {cls.__name__}: {err}") from None


def _read_config_file(cls: type, path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SwaplabError(f"{path}: no such config file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SwaplabError(f"{path}: not a JSON config file ({err})") from None
    payload = payload.get("config", payload) if isinstance(payload, dict) else payload
    if not isinstance(payload, dict):
        raise SwaplabError(f"{path}: a config file must hold a JSON object")
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(payload) - known)
    if unknown:
        raise SwaplabError(f"{path}: unknown config keys {unknown}; valid keys: {sorted(known)}")
    return payload


def save_config(config: Any, target: Path) -> Path:
    """Write the resolved ``config`` as JSON (with the swaplab version) to ``target``."""
    payload = {
        "stage": type(config).__name__,
        "swaplab_version": swaplab.__version__,
        "config": dataclasses.asdict(config),
    }
    write_json_atomic(target, payload)
    return target
