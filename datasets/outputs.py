"""Where each stage writes what: the one module that knows the file names of stage outputs.

Each stage returns one of these frozen records (built from its output folder), and a later stage
finds an earlier stage's files only through them, never by typing a file name. Every record is
pure path arithmetic: building one reads and writes nothing.

>>> ExtractOutput(Path("out/faces")).manifest
PosixPath('out/faces/faces.csv')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FACE_MANIFEST = "faces.csv"
SWAPPED_SUFFIX = ".swapped.mp4"
PROVENANCE_SUFFIX = ".provenance.json"
DONE_MARKER = "DONE"


@dataclass(frozen=True)
class ExtractOutput:
    """``swaplab generate extract``: crops, the face manifest, the resolved config, contact sheets."""

    folder: Path

    @property
    def manifest(self) -> Path:
        return self.folder / FACE_MANIFEST

    @property
    def config(self) -> Path:
        return self.folder / "extract_config.json"

    @property
    def crops(self) -> Path:
        return self.folder / "crops"

    @property
    def landmarks(self) -> Path:
        """Dense (Face Mesh) landmark sidecars, one ``.npy`` per input video."""
        return self.folder / "landmarks"

    @property
    def clusters(self) -> Path:
        """One contact sheet per identity cluster, plus ``clusters.csv`` (the index)."""
        return self.folder / "clusters"

    @property
    def cluster_index(self) -> Path:
        return self.clusters / "clusters.csv"


@dataclass(frozen=True)
class TrainOutput:
    """``swaplab generate train``: the checkpoint, the loss log, the preview, the config."""

    folder: Path

    @property
    def checkpoint(self) -> Path:
        return self.folder / "model.pt"

    @property
    def losses(self) -> Path:
        return self.folder / "losses.csv"

    @property
    def preview(self) -> Path:
        return self.folder / "preview.png"

    @property
    def config(self) -> Path:
        return self.folder / "train_config.json"


@dataclass(frozen=True)
class SwapOutput:
    """``swaplab generate swap`` of one dst video into ``folder``."""

    folder: Path
    dst_stem: str

    @property
    def video(self) -> Path:
        """The composite, labelled synthetic in its metadata."""
        return self.folder / f"{self.dst_stem}{SWAPPED_SUFFIX}"

    @property
    def provenance(self) -> Path:
        return self.folder / f"{self.dst_stem}{PROVENANCE_SUFFIX}"

    @property
    def masks(self) -> Path:
        return self.folder / "masks"

    @property
    def fakes(self) -> ExtractOutput:
        """The fake faces, extracted from the composite as real faces are (manifest label ``fake``)."""
        return ExtractOutput(self.folder / "fakes")

    @property
    def dst_faces(self) -> ExtractOutput:
        return ExtractOutput(self.folder / "dst_faces")

    @property
    def quality(self) -> Path:
        return self.folder / "quality.json"

    @property
    def config(self) -> Path:
        return self.folder / "swap_config.json"


@dataclass(frozen=True)
class FROutput:
    """``swaplab evaluate fr``: score tables per backend and level, metrics, config."""

    folder: Path

    def scores(self, backend: str, level: str) -> Path:
        """Folder of one backend x level: ``scores.csv`` plus bob-style 4-column files."""
        return self.folder / "scores" / backend / level

    def score_table(self, backend: str, level: str) -> Path:
        return self.scores(backend, level) / "scores.csv"

    @property
    def metrics_csv(self) -> Path:
        return self.folder / "metrics.csv"

    @property
    def metrics_json(self) -> Path:
        return self.folder / "metrics.json"

    @property
    def figures(self) -> Path:
        return self.folder / "figures"

    @property
    def config(self) -> Path:
        return self.folder / "fr_config.json"


@dataclass(frozen=True)
class DetectOutput:
    """``swaplab detect train``: the saved detector, scores, metrics, config."""

    folder: Path

    @property
    def detector(self) -> Path:
        return self.folder / "detector"

    @property
    def scores(self) -> Path:
        return self.folder / "scores.csv"

    @property
    def metrics_csv(self) -> Path:
        return self.folder / "metrics.csv"

    @property
    def metrics_json(self) -> Path:
        return self.folder / "metrics.json"

    @property
    def config(self) -> Path:
        return self.folder / "detect_config.json"
