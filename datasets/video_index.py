"""The video index: one row per video of a dataset, read and written only here.

A CSV whose first line names the format, version and dataset root; paths are
relative to that root and may not leave it.

Columns: path, identity (the person shown; for a fake the claimed, swapped-in
identity), source_identity (the person filmed), label (real/fake), tier
(quality or compression), method (manipulation or source), split (official
split, if any), audio_path (separate audio, e.g. VidTIMIT).
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
FORMAT_VERSION = 1


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

    def __post_init__(self) -> None:
        if self.label not in ("real", "fake"):
            raise ValueError(f"label must be real or fake, not {self.label!r}")
        if not self.source_identity:
            object.__setattr__(self, "source_identity", self.identity)
        posix = PurePosixPath(self.path)
        if posix.is_absolute() or ".." in posix.parts:
            raise ValueError(f"path {self.path!r} leaves the dataset root")


COLUMNS = [f.name for f in dataclasses.fields(VideoRecord)]


def write_index(records: list[VideoRecord], root: Path, target: Path) -> Path:
    with atomic_path(Path(target)) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            handle.write(f"# {FORMAT_NAME} version={FORMAT_VERSION} root={Path(root).resolve()}\n")
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(dataclasses.asdict(r) for r in records)
    return Path(target)


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
            return Path(root), [VideoRecord(**row) for row in csv.DictReader(handle)]
        except (TypeError, ValueError) as err:
            raise SwaplabError(f"{path}: broken video index ({err})") from None
