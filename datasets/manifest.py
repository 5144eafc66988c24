"""The face manifest: one row per face crop (or per frame without a face).

The only place that reads or writes manifests. A manifest is a CSV file whose
first line names the format and its version, then a header row, then rows in
frame order for each processed video: one row per kept face (several when a
frame holds several kept faces, told apart by ``face_index``), or one row with
``has_face = 0`` for a frame where no face was kept. Paths inside are relative
to the manifest's folder and may not leave it.

``extract`` writes two manifests (names in :mod:`swaplab.datasets.outputs`):
the face set (only the kept faces; with the default single-identity rules at
most one row per frame, so row ``i`` of a one-video manifest is frame ``i``)
and the all-faces manifest (every face found in every frame, kept or not,
which ``generate select`` re-selects from without detecting again).

Columns
-------
crop_path        crop image, relative to the manifest; empty when ``has_face`` is false
identity         the person the face shows (for a fake: the claimed identity, src)
video_id         the video (or image folder) the frame comes from
frame_index      0-based frame number in the source
timestamp        seconds from the start of the source
source_path      the source file as given
source_sha256    hex sha256 of the source file
has_face         1 when a face was kept for this frame, 0 when none was found
bbox_*           face box in frame pixels (x0, y0, x1, y1)
lm{0..4}_{x,y}   5 landmarks in frame pixels: left eye, right eye, nose, mouth left, mouth right
m00..m12         2x3 similarity matrix mapping frame pixels to crop pixels
crop_size        crop side in pixels
face_type        face / whole_face / head (how much of the head the crop holds)
template         name of the canonical 5-point template
frame_width/height  source frame size, to paste the face back
detector         face detector and its settings
det_score        detector confidence for this face (1.0 = certain)
landmark_source  detected / tracked / smoothed
selection        the rule that kept this face: largest-cluster (the identity cluster with the most
                 faces) / identity-ref (matches an --identity-ref image) / all (--faces all) /
                 user-keep (kept by `generate select`) / none (in the all-faces manifest: not kept);
                 version 1-2 files also hold single-face / largest-track
label            real / fake
generator_run    for fakes, the id of the generator run; empty for real faces
source_identity  the person filmed in the source video: for a real face its identity, for a
                 fake the dst person whose video received the face (scene and head are theirs)
face_index       which face of the frame this is, 0-based, older tracks first (numbered over
                 every face of the frame, kept or not); 0 on rows without a face
track_id         the face track (one face followed through consecutive frames of one shot, never
                 across a cut or a change of identity); unique over one extract run; -1 = none
shot_id          the shot (between two scene cuts) of the source, 0-based; -1 = unknown
cluster_id       the identity cluster of the track (tracks of all inputs of one run clustered by
                 FaceNet embedding; 0 = the cluster with the most faces); -1 = none
mesh_path        the dense-landmark sidecar (.npy, float32 (N, 478, 2), Face Mesh points in frame
                 pixels, NaN where the mesh found no face), relative to the manifest; empty = none
mesh_index       this face's row in ``mesh_path``; -1 = none

Columns added after version 1 are optional when reading an older file: they
take the defaults above (``source_identity`` = ``identity``).
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import atomic_path

FORMAT_NAME = "swaplab-face-manifest"
# 1 - first format: provenance, bbox, 5 landmarks, 2x3 alignment, label, generator run.
# 2 - add source_identity: the person filmed in the source video (a fake's dst).
# 3 - every face of a frame: add face_index, track_id, shot_id, cluster_id and the dense-landmark
#     sidecar reference mesh_path + mesh_index; new selection rules (largest-cluster, all, user-keep).
FORMAT_VERSION = 3

LABELS = ("real", "fake")
_BBOX = ("bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1")
_LANDMARKS = tuple(f"lm{i}_{axis}" for i in range(5) for axis in ("x", "y"))
_MATRIX = ("m00", "m01", "m02", "m10", "m11", "m12")


@dataclass(frozen=True)
class FaceRecord:
    """One row of a face manifest (see the module docstring for each column).

    ``bbox`` is ``(x0, y0, x1, y1)``; ``landmarks`` is 5 ``(x, y)`` pairs;
    ``matrix`` is the 2x3 frame->crop matrix as two rows of three.
    """

    crop_path: str
    identity: str
    video_id: str
    frame_index: int
    timestamp: float
    source_path: str
    source_sha256: str
    has_face: bool
    bbox: tuple[float, float, float, float]
    landmarks: tuple[tuple[float, float], ...]
    matrix: tuple[tuple[float, float, float], tuple[float, float, float]]
    crop_size: int
    face_type: str
    template: str
    frame_width: int
    frame_height: int
    detector: str
    det_score: float
    landmark_source: str
    selection: str
    label: str = "real"
    generator_run: str = ""
    source_identity: str = ""
    face_index: int = 0
    track_id: int = -1
    shot_id: int = -1
    cluster_id: int = -1
    mesh_path: str = ""
    mesh_index: int = -1

    def __post_init__(self) -> None:
        if not self.source_identity:
            object.__setattr__(self, "source_identity", self.identity)
        if self.label not in LABELS:
            raise ValueError(f"label must be one of {LABELS}, not {self.label!r}")
        if self.label == "fake" and not self.generator_run:
            raise ValueError("a fake face needs its generator_run id")

    @property
    def matrix_array(self) -> np.ndarray:
        """The frame->crop similarity as a float64 array of shape (2, 3)."""
        return np.asarray(self.matrix, dtype=np.float64)

    @property
    def landmarks_array(self) -> np.ndarray:
        """The 5 landmarks as a float64 array of shape (5, 2), frame pixels."""
        return np.asarray(self.landmarks, dtype=np.float64)


NAN_BOX = (math.nan,) * 4
NAN_LANDMARKS = ((math.nan, math.nan),) * 5
NAN_MATRIX = ((math.nan,) * 3, (math.nan,) * 3)

_SCALAR_FIELDS = [f.name for f in dataclasses.fields(FaceRecord) if f.name not in ("bbox", "landmarks", "matrix")]
COLUMNS = (
    _SCALAR_FIELDS[:8] + list(_BBOX) + list(_LANDMARKS) + list(_MATRIX) + _SCALAR_FIELDS[8:]
)
_INT_FIELDS = {"frame_index", "crop_size", "frame_width", "frame_height", "face_index", "track_id", "shot_id",
               "cluster_id", "mesh_index"}
_ADDED_IN_V2 = {"source_identity"}  # absent from version-1 files; read as the identity
_ADDED_IN_V3 = {"face_index", "track_id", "shot_id", "cluster_id", "mesh_path", "mesh_index"}
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(FaceRecord) if f.name in _ADDED_IN_V2 | _ADDED_IN_V3}
_FLOAT_FIELDS = {"timestamp", "det_score"}


def _header_line() -> str:
    return f"# {FORMAT_NAME} version={FORMAT_VERSION}\n"


def _to_row(record: FaceRecord) -> dict[str, str]:
    row = {}
    for name in _SCALAR_FIELDS:
        value = getattr(record, name)
        row[name] = str(int(value)) if isinstance(value, bool) else _fmt(value)
    flat_lm = [v for point in record.landmarks for v in point]
    flat_m = [v for line in record.matrix for v in line]
    for names, values in ((_BBOX, record.bbox), (_LANDMARKS, flat_lm), (_MATRIX, flat_m)):
        row.update({name: _fmt(value) for name, value in zip(names, values, strict=True)})
    return row


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def write_manifest(records: Iterable[FaceRecord], target: Path) -> Path:
    """Write ``records`` to the CSV manifest ``target`` atomically.

    Every non-empty ``crop_path`` must stay inside ``target``'s folder.
    """
    target = Path(target)
    records = list(records)
    for record in records:
        for relative in (record.crop_path, record.mesh_path):
            if relative:
                check_relative_path(relative, target)
    with atomic_path(target) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            handle.write(_header_line())
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(_to_row(record) for record in records)
    return target


def check_relative_path(path: str, manifest: Path) -> Path:
    """Resolve ``path`` against the manifest's folder; refuse one that escapes it."""
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute() or Path(path).is_absolute() or ".." in posix.parts:
        raise SwaplabError(
            f"{manifest}: path {path!r} leaves the manifest's folder (absolute or '..'); refused"
        )
    return Path(manifest).parent / Path(*posix.parts)


def read_manifest(path: Path) -> list[FaceRecord]:
    """Read a face manifest into frozen :class:`FaceRecord` rows.

    Raises
    ------
    SwaplabError
        The file is missing, not a swaplab manifest, from a newer format
        version, has missing columns, a malformed value, or a path that
        leaves the manifest's folder.
    """
    path = Path(path)
    if not path.is_file():
        raise SwaplabError(f"{path}: no such manifest")
    with open(path, newline="", encoding="utf-8") as handle:
        _check_header(path, handle.readline())
        reader = csv.DictReader(handle)
        missing = sorted(set(COLUMNS) - set(reader.fieldnames or ()) - _ADDED_IN_V2 - _ADDED_IN_V3)
        if missing:
            raise SwaplabError(f"{path}: broken manifest, missing columns {missing}")
        # +1: the format line was read before the csv reader started counting
        return [_from_row(path, reader.line_num + 1, row) for row in reader]


def _check_header(path: Path, line: str) -> None:
    prefix = f"# {FORMAT_NAME} version="
    if not line.startswith(prefix):
        raise SwaplabError(f"{path}: not a swaplab face manifest (first line {line.strip()[:60]!r})")
    try:
        version = int(line[len(prefix):].strip())
    except ValueError:
        raise SwaplabError(f"{path}: broken manifest header {line.strip()!r}") from None
    if version > FORMAT_VERSION:
        raise SwaplabError(
            f"{path}: manifest format {version} is newer than this swaplab reads "
            f"({FORMAT_VERSION}); upgrade swaplab"
        )


def _from_row(path: Path, line: int, row: dict[str, str]) -> FaceRecord:
    try:
        values: dict[str, object] = {name: _DEFAULTS[name] if row.get(name) is None else _parse(name, row[name])
                                     for name in _SCALAR_FIELDS}
        values["bbox"] = tuple(_float(row[name]) for name in _BBOX)
        flat = [_float(row[name]) for name in _LANDMARKS]
        values["landmarks"] = tuple(zip(flat[0::2], flat[1::2], strict=True))
        flat_m = [_float(row[name]) for name in _MATRIX]
        values["matrix"] = (tuple(flat_m[:3]), tuple(flat_m[3:]))
        record = FaceRecord(**values)  # type: ignore[arg-type]
    except (ValueError, TypeError) as err:
        raise SwaplabError(f"{path}: broken manifest row at line {line}: {err}") from None
    for relative in (record.crop_path, record.mesh_path):
        if relative:
            check_relative_path(relative, path)
    return record


def _float(text: str) -> float:
    return math.nan if text == "" else float(text)


def _parse(name: str, text: str) -> object:
    if name in _INT_FIELDS:
        return int(text)
    if name in _FLOAT_FIELDS:
        return _float(text)
    if name == "has_face":
        if text not in ("0", "1"):
            raise ValueError(f"has_face must be 0 or 1, not {text!r}")
        return text == "1"
    return text


def fake_video_key(record: FaceRecord) -> str:
    """``generator_run/video_id``: a fake video's id that stays unique when two runs swap the same dst video."""
    return f"{record.generator_run}/{record.video_id}"


def matches_excluded(record: FaceRecord, excluded: set[str]) -> bool:
    """Whether a fake row's video is named in ``excluded``: by its ``video_id``, its ``generator_run``,
    or ``generator_run/video_id`` (the unambiguous form). The one rule of FR's and detection's ``excluded``."""
    return bool(excluded & {record.video_id, record.generator_run, fake_video_key(record)})


def faces_only(records: Sequence[FaceRecord]) -> list[FaceRecord]:
    """The rows that hold a face crop.

    Read from a face set (``faces.csv``) these are the kept faces only: that manifest holds no
    other faces. Read from the all-faces manifest they are every face found, kept or not; use
    :func:`kept_only` there.
    """
    return [record for record in records if record.has_face]


def kept_only(records: Sequence[FaceRecord]) -> list[FaceRecord]:
    """The face rows that a selection rule kept (``selection`` other than ``none``)."""
    return [record for record in faces_only(records) if record.selection != "none"]


def load_mesh(record: FaceRecord, manifest: Path) -> np.ndarray | None:
    """The 478 dense landmarks (478, 2) float32 in frame pixels of one row, or None (no sidecar or no mesh)."""
    if not record.mesh_path or record.mesh_index < 0:
        return None
    points = np.load(check_relative_path(record.mesh_path, manifest), mmap_mode="r")[record.mesh_index]
    return None if np.isnan(points).all() else np.array(points, dtype=np.float32)
