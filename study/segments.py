"""Segments of source videos, and the one processing chain that real probes and fakes share.

A segment is the frames of a video whose timestamp falls in [start, end) (a video index row,
``swaplab.datasets.video_index``). Enrolment and training faces are the rows of the whole
video's face manifest in that range: no re-encoding. A probe segment is cut once into a file
(H.264 through ``core.media.write_video``), since the swap reads whole videos; the genuine probe
is that cut encoded again by the composite's writer, and a fake is the swap's composite of the
same cut, so both went through two encodes at the same settings before their faces were detected.
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from pathlib import Path

import numpy as np

from swaplab.core.errors import SwaplabError
from swaplab.core.media import iter_frames, probe, write_video
from swaplab.datasets.manifest import FaceRecord, read_manifest, write_manifest
from swaplab.datasets.video_index import VideoRecord

WRITER_CRF = inspect.signature(write_video).parameters["crf"].default  # what composites are written with


def segment_name(record: VideoRecord) -> str:
    """The segment's video id in manifests: ``<video stem>.<segment>`` (``.all`` for a whole video);
    a person's enrolment segment comes first in sort order when roles follow the index order."""
    return f"{Path(record.path).stem}.{record.segment or 'all'}"


def rows_in(manifest: Path, record: VideoRecord, name: str, target: Path) -> list[FaceRecord]:
    """Rows of ``manifest`` whose timestamp is in the segment, crop and mesh paths rebased onto ``target``'s
    folder, video id renamed to ``name``."""
    prefix = Path(manifest).parent.relative_to(Path(target).parent).as_posix()  # crops stay below the manifest

    def rebased(relative: str) -> str:
        return f"{prefix}/{relative}" if relative else ""

    return [replace(r, video_id=name, crop_path=rebased(r.crop_path), mesh_path=rebased(r.mesh_path))
            for r in read_manifest(manifest) if record.contains(r.timestamp)]


def segment_manifest(sources: dict[str, Path], records: list[tuple[VideoRecord, str]], target: Path) -> Path:
    """One manifest of the faces of ``records`` (segment row, its name), taken from their videos'
    whole manifests (``sources``: video path in the index -> manifest); refuses a segment without a face."""
    rows = []
    for record, name in records:
        found = rows_in(sources[record.path], record, name, target)
        if not any(r.has_face for r in found):
            raise SwaplabError(f"{record.key}: no face in [{record.start}, {record.end}) s")
        rows += found
    return write_manifest(rows, target)


def cut_segment(video: Path, record: VideoRecord, target: Path) -> Path:
    """Write the segment's frames and its audio as H.264 / AAC mp4 (the writer's defaults); skipped when there.

    The audio is cut to the same time span, so the lip-sync detector sees the segment's own sound."""
    if target.exists():
        return target
    frames = (frame.image for frame in iter_frames(video) if record.contains(frame.timestamp))
    window = (record.start or 0.0, record.end if record.end is not None else float("inf"))
    return write_video(frames, target, fps=probe(video).fps, audio_from=video, audio_window=window)


def reencode_like_composite(video: Path, target: Path) -> Path:
    """Encode ``video`` again exactly as ``generate.composite.write_composite`` writes a swap
    (``write_video`` at the video's fps, its audio, default crf), minus the synthetic tags."""
    if target.exists():
        return target
    return write_video((frame.image for frame in iter_frames(video)), target, fps=probe(video).fps, audio_from=video)


def face_change(fake: Path, original: Path, faces: Path) -> float:
    """Mean |fake - original| (0-255) inside the original's face boxes, over frames with a face.

    A swap whose mask collapsed, or whose Poisson mask was empty, leaves the face as it was:
    only the second encode's noise remains (about 1 grey level at crf 18).
    """
    records = read_manifest(faces)
    changes = []
    for swapped, source in zip(iter_frames(fake), iter_frames(original), strict=False):
        record = records[swapped.index] if swapped.index < len(records) else None
        if record is None or not record.has_face:
            continue
        height, width = swapped.image.shape[:2]
        x0, y0, x1, y1 = (int(round(v)) for v in record.bbox)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 > x0 and y1 > y0:
            box = np.s_[y0:y1, x0:x1]
            changes.append(float(np.abs(swapped.image[box].astype(np.float32) - source.image[box]).mean()))
    return float(np.mean(changes)) if changes else 0.0
