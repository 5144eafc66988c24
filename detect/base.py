"""The detector plug-in point: a small Protocol, the registry, and saving/loading by name.

Faces are RGB uint8 crops (N, S, S, 3) from face manifests; scores are
float (N,), **higher = more likely fake**. A saved detector is a folder with
``detector.json`` (name, format, settings, and the :class:`~swaplab.faces.preprocessing.Preprocessing`
of the faces it was trained on) and arrays in ``weights.npz``
(numpy, loaded with ``allow_pickle=False``) or ``weights.pt`` (torch,
``weights_only=True``): nothing unpickles arbitrary code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import numpy as np

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import atomic_path, write_json_atomic
from swaplab.core.registry import Registry
from swaplab.faces.preprocessing import Preprocessing

FORMAT = 2  # 1 - detector.json + weights.npz / weights.pt
# 2 - detector.json holds "preprocessing" (was crops.json beside it); format-1 folders still load


class Detector(Protocol):
    """Fit on labelled face crops, score face crops (higher = more likely fake), save and load."""

    name: str
    input_size: int

    def fit(self, faces: np.ndarray, labels: np.ndarray) -> "Detector":
        """faces (N, S, S, 3) uint8; labels (N,) with 1 = fake, 0 = real."""
        ...

    def score(self, faces: np.ndarray) -> np.ndarray:
        """(N,) float scores, higher = more likely fake."""
        ...

    def settings(self) -> dict:
        """Keyword arguments that rebuild this detector (before fitting)."""
        ...

    def save_state(self, folder: Path) -> None: ...

    def load_state(self, folder: Path) -> None: ...


DETECTORS: Registry[Detector] = Registry("detector")


def check_labels(labels: np.ndarray, minimum: int = 2) -> np.ndarray:
    """Labels as int (N,); both classes present with at least ``minimum`` samples each."""
    labels = np.asarray(labels).astype(int)
    counts = {cls: int(np.sum(labels == cls)) for cls in (0, 1)}
    if min(counts.values()) < minimum:
        raise SwaplabError(f"training needs real and fake faces, at least {minimum} of each; got "
                           f"{counts[0]} real and {counts[1]} fake")
    return labels


def save_detector(detector: Detector, folder: Path, preprocessing: Preprocessing | None = None) -> Path:
    """Write the state, then ``detector.json`` (with the training faces' ``preprocessing``) last, so a
    folder without it is never taken for a detector."""
    folder.mkdir(parents=True, exist_ok=True)
    detector.save_state(folder)
    preprocessing = preprocessing or Preprocessing(input_size=int(detector.input_size))
    write_json_atomic(folder / "detector.json", {"detector": detector.name, "format": FORMAT,
                                                 "settings": detector.settings(),
                                                 "preprocessing": preprocessing.as_dict()})
    return folder


def _read_meta(folder: Path) -> dict:
    meta_path = Path(folder) / "detector.json"
    try:
        return json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise SwaplabError(f"{folder}: not a detector folder (no detector.json)") from None
    except json.JSONDecodeError:
        raise SwaplabError(f"{meta_path}: broken detector description") from None


def load_preprocessing(folder: Path) -> Preprocessing:
    """The preprocessing a saved detector was trained with (format 1 folders: the defaults)."""
    return Preprocessing.from_dict(_read_meta(folder).get("preprocessing", {}))


def load_detector(folder: Path, expected: str | None = None) -> Detector:
    """Rebuild a saved detector; a folder of another kind or detector is a clear error."""
    meta = _read_meta(folder)
    if meta.get("format") not in (1, FORMAT) or meta.get("detector") not in DETECTORS.names():
        raise SwaplabError(f"{folder}: holds an unknown detector {meta.get('detector')!r} (format {meta.get('format')})")
    if expected is not None and meta["detector"] != expected:
        raise SwaplabError(f"{folder}: holds a {meta['detector']!r} detector, not {expected!r}")
    detector = DETECTORS.get(meta["detector"], **meta["settings"])
    detector.load_state(Path(folder))
    return detector


def save_arrays(folder: Path, **arrays: np.ndarray) -> None:
    with atomic_path(folder / "weights.npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)


def load_arrays(folder: Path) -> dict[str, np.ndarray]:
    with np.load(folder / "weights.npz", allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
