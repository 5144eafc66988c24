"""The video index: one row per video of a dataset, read and written only here.

A CSV whose first line names the format, version and dataset root; paths are
relative to that root and may not leave it.

Columns: path, identity (the person shown; for a fake the claimed, swapped-in
identity), source_identity (the person filmed), label (real/fake), tier
(quality or compression), method (manipulation or source), split (official
split, if any), audio_path (separate audio, e.g. VidTIMIT); since version 2:
segment (a segment id, empty for a whole video), start and end (seconds;
frames whose timestamp falls in [start, end) belong to the segment; empty for a
whole video) and role (``enrol``, ``train`` or ``probe``; empty when not
assigned). Several rows may then share one path, one per segment.
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import atomic_path

FORMAT_NAME = "swaplab-video-index"
# 1 - first format
# 2 - segment, start, end, role: one long video per person cut into enrolment / training / probe segments
FORMAT_VERSION = 2
ROLES = ("enrol", "train", "probe")


@dataclass(frozen=True)
class VideoRecord:
    path: str
    identity: str
    label: str = "real"
    tier: str = ""
    method: str = ""
    split: str = ""
    source_identity: str = ""
    audio_path: str = ""
    segment: str = ""
    start: float | None = None
    end: float | None = None
    role: str = ""

    def __post_init__(self) -> None:
        if self.label not in ("real", "fake"):
            raise ValueError(f"label must be real or fake, not {self.label!r}")
        if self.role and self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {self.role!r}")
        if (self.start is None) != (self.end is None) or (self.start is not None and not self.start < self.end):
            raise ValueError(f"segment [{self.start}, {self.end}) is not an interval")
        if not self.source_identity:
            object.__setattr__(self, "source_identity", self.identity)
        posix = PurePosixPath(self.path)
        if posix.is_absolute() or ".." in posix.parts:
            raise ValueError(f"path {self.path!r} leaves the dataset root")

    @property
    def key(self) -> str:
        """A name unique in the index: the path, plus the segment when there is one."""
        return f"{self.path}#{self.segment}" if self.segment else self.path

    def contains(self, timestamp: float) -> bool:
        """Whether a frame at ``timestamp`` seconds belongs to this row (always, for a whole video)."""
        return self.start is None or self.start <= timestamp < self.end


COLUMNS = [f.name for f in dataclasses.fields(VideoRecord)]


def write_index(records: list[VideoRecord], root: Path, target: Path) -> Path:
    with atomic_path(Path(target)) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            handle.write(f"# {FORMAT_NAME} version={FORMAT_VERSION} root={Path(root).resolve()}\n")
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(_to_row(r) for r in records)
    return Path(target)


def _to_row(record: VideoRecord) -> dict[str, object]:
    row = dataclasses.asdict(record)
    return {k: "" if v is None else repr(v) if isinstance(v, float) else v for k, v in row.items()}


def _from_row(row: dict[str, str]) -> VideoRecord:
    """A CSV row (version 1 rows lack the segment columns: whole videos) -> record."""
    values: dict[str, object] = dict(row)
    for name in ("start", "end"):
        values[name] = float(row[name]) if row.get(name) else None
    return VideoRecord(**values)


def read_index(path: Path) -> tuple[Path, list[VideoRecord]]:
    """(dataset root, rows) of a video index."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as handle:
        first = handle.readline()
        prefix = f"# {FORMAT_NAME} version="
        if not first.startswith(prefix):
            raise SwaplabError(f"{path}: not a swaplab video index")
        version, _, root = first[len(prefix):].strip().partition(" root=")
        if int(version) > FORMAT_VERSION:
            raise SwaplabError(f"{path}: video index format {version} is newer than this swaplab reads")
        try:
            return Path(root), [_from_row(row) for row in csv.DictReader(handle)]
        except (TypeError, ValueError) as err:
            raise SwaplabError(f"{path}: broken video index ({err})") from None
