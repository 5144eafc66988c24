"""Dataset layouts: turn a folder tree into a video index (one row per video).

folder         ROOT/<identity>/<video files>, or image files (the folder is then one item); video files
               directly in ROOT are one person each, named by the file (e.g. one long video per person)
vidtimit       ROOT/<subject>/video/<sentence>/<frames 001, 002, ...> and ROOT/<subject>/audio/<sentence>.wav
deepfaketimit  ROOT/{lower_quality,higher_quality}/<identity>/<sentence>-video-<filmed>.avi; the folder
               names the face swapped in (claimed identity), the file the person filmed; tiers lq, hq
faceforensics  ROOT/original_sequences/<source>/<compression>/videos/<id>.mp4 and
               ROOT/manipulated_sequences/<method>/<compression>/videos/<target>_<source>.mp4
               (the target's video carries the source's face); splits from ROOT/splits/{train,val,test}.json
celebdf        ROOT/Celeb-real/id<a>_<n>.mp4, ROOT/YouTube-real/<n>.mp4, ROOT/Celeb-synthesis/id<t>_id<s>_<n>.mp4
               (target t's video with source s's face); ROOT/List_of_testing_videos.txt marks the test split

``segment_records`` cuts the real videos of an index into segments of a few seconds and gives each
person's segments a role: the first is enrolment, about half of the rest train the generator, the
others are probes (genuine probes, and the videos that are swapped). Roles never share a frame.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from swaplab.datasets.video_index import VideoRecord
from swaplab.core.errors import SwaplabError
from swaplab.core.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES, probe
from swaplab.core.registry import Registry

LAYOUTS: Registry[list[VideoRecord]] = Registry("dataset layout")  # name -> index(root=...) rows


def _videos(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


def _require(path: Path, what: str, layout: str) -> Path:
    if not path.exists():
        raise SwaplabError(f"{path}: missing; the {layout} layout expects {what}")
    return path


def _subfolders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


@LAYOUTS.register("folder")
def index_folder(*, root: Path) -> list[VideoRecord]:
    records = [VideoRecord(str(v.relative_to(root)), v.stem) for v in _videos(root)]
    for person in _subfolders(root):
        videos = _videos(person)
        records += [VideoRecord(str(v.relative_to(root)), person.name) for v in videos]
        if not videos and any(p.suffix.lower() in IMAGE_SUFFIXES for p in person.iterdir()):
            records.append(VideoRecord(str(person.relative_to(root)), person.name))
    if not records:
        raise SwaplabError(f"{root}: the folder layout expects ROOT/<identity>/<videos or images> or ROOT/<videos>; "
                           "found none")
    return records


@LAYOUTS.register("vidtimit")
def index_vidtimit(*, root: Path) -> list[VideoRecord]:
    records = []
    for subject in _subfolders(root):
        video = _require(subject / "video", "<subject>/video/<sentence>/ frame folders", "vidtimit")
        for sentence in _subfolders(video):
            audio = subject / "audio" / f"{sentence.name}.wav"
            records.append(VideoRecord(str(sentence.relative_to(root)), subject.name,
                                       audio_path=str(audio.relative_to(root)) if audio.exists() else ""))
    if not records:
        raise SwaplabError(f"{root}: the vidtimit layout expects <subject>/video/<sentence>/ frame folders; found none")
    return records


@LAYOUTS.register("deepfaketimit")
def index_deepfaketimit(*, root: Path) -> list[VideoRecord]:
    tiers = {"lower_quality": "lq", "higher_quality": "hq"}
    if not any((root / name).is_dir() for name in tiers):
        raise SwaplabError(f"{root}: the deepfaketimit layout expects lower_quality/ and/or higher_quality/")
    records = []
    for folder, tier in tiers.items():
        for person in _subfolders(root / folder) if (root / folder).is_dir() else []:
            for video in _videos(person):
                filmed = video.stem.rsplit("-video-", 1)
                if len(filmed) != 2:
                    raise SwaplabError(f"{video}: expected a name like <sentence>-video-<filmed person>.avi")
                records.append(VideoRecord(str(video.relative_to(root)), person.name, label="fake", tier=tier,
                                           source_identity=filmed[1], method="deepfaketimit"))
    return records


def _ff_splits(root: Path) -> dict[str, str]:
    """Video id -> split, from the official pair lists (when present)."""
    found = {}
    for split in ("train", "val", "test"):
        path = root / "splits" / f"{split}.json"
        if path.exists():
            try:
                pairs = json.loads(path.read_text())
            except json.JSONDecodeError:
                raise SwaplabError(f"{path}: not a JSON list of [target, source] pairs") from None
            found.update({vid: split for pair in pairs for vid in pair})
    return found


def _ff_videos(root: Path, group: str) -> Iterator[tuple[str, str, Path]]:
    for method in _subfolders(root / group):
        for compression in _subfolders(method):
            for video in _videos(compression / "videos") if (compression / "videos").is_dir() else []:
                yield method.name, compression.name, video


@LAYOUTS.register("faceforensics")
def index_faceforensics(*, root: Path) -> list[VideoRecord]:
    _require(root / "original_sequences", "original_sequences/<source>/<compression>/videos/", "faceforensics")
    splits = _ff_splits(root)
    records = [VideoRecord(str(v.relative_to(root)), v.stem, tier=comp, method=source, split=splits.get(v.stem, ""))
               for source, comp, v in _ff_videos(root, "original_sequences")]
    if (root / "manipulated_sequences").is_dir():
        for method, comp, video in _ff_videos(root, "manipulated_sequences"):
            parts = video.stem.split("_")
            if len(parts) != 2:
                raise SwaplabError(f"{video}: expected <target>_<source>.mp4")
            target, source = parts
            records.append(VideoRecord(str(video.relative_to(root)), source, label="fake", tier=comp, method=method,
                                       source_identity=target, split=splits.get(target, "")))
    if not records:
        raise SwaplabError(f"{root}: no videos under original_sequences/*/*/videos/")
    return records


@LAYOUTS.register("celebdf")
def index_celebdf(*, root: Path) -> list[VideoRecord]:
    folders = ("Celeb-real", "Celeb-synthesis", "YouTube-real")
    if not any((root / f).is_dir() for f in folders):
        raise SwaplabError(f"{root}: the celebdf layout expects {', '.join(folders)}")
    testing = _celebdf_test_list(root)
    records = []
    for folder in folders:
        for video in _videos(root / folder) if (root / folder).is_dir() else []:
            relative = str(video.relative_to(root))
            split = "test" if relative in testing else "train"
            records.append(_celebdf_record(video, relative, folder, split))
    return records


def _celebdf_test_list(root: Path) -> set[str]:
    path = root / "List_of_testing_videos.txt"
    if not path.exists():
        return set()
    names = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split()
        if len(parts) != 2:
            raise SwaplabError(f"{path}: line {number} should be '<label> <folder>/<video>.mp4'")
        names.add(parts[1])
    return names


def _celebdf_record(video: Path, relative: str, folder: str, split: str) -> VideoRecord:
    if folder == "YouTube-real":
        return VideoRecord(relative, f"youtube-{video.stem}", split=split, method=folder)
    match = re.fullmatch(r"(id\d+)_(id\d+)_(\d+)" if folder == "Celeb-synthesis" else r"(id\d+)_(\d+)", video.stem)
    if match is None:
        raise SwaplabError(f"{video}: unexpected name for {folder} (id<a>_<n> or id<target>_id<source>_<n>)")
    if folder == "Celeb-real":
        return VideoRecord(relative, match.group(1), split=split, method=folder)
    return VideoRecord(relative, match.group(2), label="fake", source_identity=match.group(1), split=split,
                       method=folder)


def index_dataset(root: Path, layout: str) -> list[VideoRecord]:
    """Index ``root`` with the named layout."""
    root = Path(root)
    if not root.is_dir():
        raise SwaplabError(f"{root}: no such dataset folder")
    return LAYOUTS.get(layout, root=root)


MIN_SEGMENTS = 3  # enrolment, generator training, probe
MIN_SEGMENT_SECONDS = 0.5


def segment_bounds(duration: float, seconds: float) -> list[tuple[float, float]]:
    """[start, end) of consecutive segments of ``seconds`` (the last one takes the remainder);
    a video shorter than three segments is cut into three equal parts.

    >>> segment_bounds(10.0, 3.0)
    [(0.0, 3.0), (3.0, 6.0), (6.0, 10.0)]
    """
    count = max(MIN_SEGMENTS, math.floor(duration / seconds))
    length = seconds if count * seconds <= duration else duration / count
    bounds = [(round(k * length, 6), round((k + 1) * length, 6)) for k in range(count)]
    bounds[-1] = (bounds[-1][0], round(duration, 6))
    return bounds


def role_of(position: int, count: int) -> str:
    """Role of a person's ``position``-th segment of ``count``: first enrol, then about half of
    the rest train (at least one), the others probe (at least one)."""
    if position == 0:
        return "enrol"
    return "train" if position <= math.ceil((count - 1) / 2) else "probe"


def assign_roles(records: list[VideoRecord]) -> list[VideoRecord]:
    """Give each person's real rows (in index order) their role; fakes and others keep theirs."""
    mine: dict[str, list[int]] = defaultdict(list)
    for number, record in enumerate(records):
        if record.label == "real":
            mine[record.identity].append(number)
    out = list(records)
    for identity, numbers in mine.items():
        if len(numbers) < MIN_SEGMENTS:
            raise SwaplabError(f"{identity}: {len(numbers)} real video(s) or segments; enrolment, generator training "
                               f"and probes need {MIN_SEGMENTS} (index with --segment-seconds)")
        for position, number in enumerate(numbers):
            out[number] = replace(records[number], role=role_of(position, len(numbers)))
    return out


def segment_records(records: list[VideoRecord], root: Path, seconds: float) -> list[VideoRecord]:
    """Cut every real video into segments of about ``seconds`` and assign roles (enrol/train/probe).

    Fake rows (third-party deepfakes) stay whole videos without a role.
    """
    if seconds < MIN_SEGMENT_SECONDS:
        raise SwaplabError(f"--segment-seconds {seconds}: segments need at least {MIN_SEGMENT_SECONDS} s")
    cut = []
    for record in records:
        if record.label != "real":
            cut.append(record)
            continue
        duration = probe(Path(root) / record.path).duration
        bounds = segment_bounds(duration, seconds)
        if bounds[0][1] < MIN_SEGMENT_SECONDS:
            raise SwaplabError(f"{Path(root) / record.path}: {duration:.1f} s is too short for "
                               f"{MIN_SEGMENTS} segments of {MIN_SEGMENT_SECONDS} s")
        cut += [replace(record, segment=f"s{k:02d}", start=a, end=b) for k, (a, b) in enumerate(bounds)]
    return assign_roles(cut)
