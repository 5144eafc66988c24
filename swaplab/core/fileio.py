"""Atomic writes, hashing and checks on paths the user hands us."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from swaplab.core.errors import SwaplabError


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    An interrupted or failed write leaves no file at ``target`` (nor a half
    one): readers never see a partial output.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_current_umask())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically (utf-8)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(target: Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON to ``target`` atomically."""
    write_text_atomic(target, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def require_input_file(path: Path) -> Path:
    """Return ``path`` if it is an existing, non-empty file; else a clear error."""
    path = Path(path)
    if not path.exists():
        raise SwaplabError(f"{path}: no such file or folder")
    if path.is_file() and path.stat().st_size == 0:
        raise SwaplabError(f"{path}: file is empty (0 bytes)")
    return path


def require_writable_dir(path: Path) -> Path:
    """Create ``path`` if needed and check that files can be written in it."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".swaplab-write-test-"):
            pass
    except OSError as err:
        reason = err.strerror or str(err)
        raise SwaplabError(f"{path}: output folder cannot be written ({reason})") from None
    return path


def save_torch_file(payload: Any, target: Path) -> Path:
    """Write ``payload`` with ``torch.save`` atomically, through an open file: the same payload gives the same
    bytes (given a path, torch names the archive's inner folder after the temporary file, so each save would
    differ, and with it every hash that names the file, such as a swap's generator run)."""
    import torch

    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        torch.save(payload, handle)
    return Path(target)


def load_torch_file(path: Path, what: str, missing: str, map_location: Any = "cpu") -> Any:
    """A torch file read safely (``weights_only=True``: tensors and plain containers only).

    ``what`` names the kind of file in the error for a file torch cannot read; ``missing`` is the
    hint for a file that is not there.
    """
    import torch

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise SwaplabError(f"{path}: {missing}") from None
    except Exception as err:  # noqa: BLE001 - torch raises many types for a bad file
        raise SwaplabError(f"{path}: not a swaplab {what} ({type(err).__name__})") from None
