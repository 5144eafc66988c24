"""From all faces to the face set: per-frame rows, the cluster index with contact sheets, re-selection.

``extract`` writes every face it finds to the all-faces manifest; the face set (``faces.csv``) holds
the kept faces, in frame order, with one ``has_face = 0`` row for each frame where no face was
kept. ``generate select`` rebuilds the face set from the all-faces manifest by cluster id, without
detecting again.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from itertools import groupby

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import atomic_path
from swaplab.datasets.manifest import NAN_BOX, NAN_LANDMARKS, NAN_MATRIX, FaceRecord, read_manifest, write_manifest
from swaplab.datasets.outputs import ExtractOutput
from swaplab.faces.sheets import contact_sheet

INDEX_COLUMNS = ("cluster_id", "faces", "tracks", "videos", "sheet", "kept")


def _frames(rows: Sequence[FaceRecord]) -> Iterator[list[FaceRecord]]:
    """Rows grouped by frame, in manifest order."""
    for _, group in groupby(rows, key=lambda r: (r.video_id, r.frame_index)):
        yield list(group)


def no_face(row: FaceRecord) -> FaceRecord:
    """The ``has_face = 0`` row standing for ``row``'s frame."""
    return dataclasses.replace(row, crop_path="", has_face=False, bbox=NAN_BOX, landmarks=NAN_LANDMARKS,
                               matrix=NAN_MATRIX, det_score=0.0, landmark_source="none", selection="none",
                               face_index=0, track_id=-1, cluster_id=-1, mesh_path="", mesh_index=-1)


def face_set_rows(rows: Sequence[FaceRecord], rule_of: Callable[[FaceRecord], str | None], *,
                  one_per_frame: bool, priority: dict[int, float] | None = None) -> list[FaceRecord]:
    """The face set built from all-faces ``rows``.

    ``rule_of(row)`` names the rule that keeps a face row, or None to leave it out. With
    ``one_per_frame`` a frame keeps its best kept face only: lowest ``priority[track_id]`` (e.g. the
    distance to the identity reference), then the largest box.
    """
    priority = priority or {}
    out = []
    for frame in _frames(rows):
        kept = [dataclasses.replace(r, selection=rule) for r in frame if r.has_face and (rule := rule_of(r))]
        if one_per_frame and len(kept) > 1:
            kept = [min(kept, key=lambda r: (priority.get(r.track_id, 0.0), -_area(r)))]
        out += kept or [no_face(frame[0])]
    return out


def _area(row: FaceRecord) -> float:
    return (row.bbox[2] - row.bbox[0]) * (row.bbox[3] - row.bbox[1])


def write_face_set(output: ExtractOutput, rows: Sequence[FaceRecord], *, one_per_frame: bool,
                   priority: dict[int, float] | None = None, sheets: bool = True) -> list[FaceRecord]:
    """Write the face set of all-faces ``rows`` (their ``selection`` says which are kept), the cluster
    index and (``sheets``) one contact sheet per cluster; return the face set rows."""
    chosen = face_set_rows(rows, lambda r: r.selection if r.selection != "none" else None,
                           one_per_frame=one_per_frame, priority=priority)
    write_manifest(chosen, output.manifest)
    write_cluster_index(output, rows, chosen, sheets=sheets)
    return chosen


def write_cluster_index(output: ExtractOutput, rows: Sequence[FaceRecord], chosen: Sequence[FaceRecord], *,
                        sheets: bool) -> None:
    """``clusters.csv`` (cluster_id, faces, tracks, videos, sheet, kept yes/no) and the contact sheets."""
    kept = {r.cluster_id for r in chosen if r.has_face}
    faces = [r for r in rows if r.has_face]
    lines = []
    for cluster in sorted({r.cluster_id for r in faces}):
        members = [r for r in faces if r.cluster_id == cluster]
        counts = (len(members), len({r.track_id for r in members}), len({r.video_id for r in members}))
        sheet = output.sheet(cluster)
        if sheets:
            title = (f"cluster {cluster}: {counts[0]} faces, {counts[1]} tracks, {counts[2]} videos"
                     f"{' - KEPT' if cluster in kept else ''}")
            contact_sheet([output.folder / r.crop_path for r in members], title, sheet)
        lines.append((cluster, *counts, sheet.relative_to(output.folder).as_posix(),
                      "yes" if cluster in kept else "no"))
    output.clusters.mkdir(parents=True, exist_ok=True)
    with atomic_path(output.cluster_index) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(INDEX_COLUMNS)
        writer.writerows(lines)


def select(output: ExtractOutput, keep: Sequence[int] = (), drop: Sequence[int] = ()) -> list[FaceRecord]:
    """Rebuild the face set by cluster id, without detecting again; return its rows.

    ``keep``: the face set becomes every face of these clusters. ``drop``: these clusters leave the
    current face set. Kept rows get selection ``user-keep``; the all-faces manifest and
    ``clusters.csv`` are updated to match. Every write is atomic.
    """
    if bool(keep) == bool(drop):
        raise SwaplabError("give either --keep or --drop cluster ids (one of them)")
    if not output.all_faces.is_file():
        raise SwaplabError(f"{output.folder}: no all-faces manifest ({output.all_faces.name}); "
                           "was it written by `swaplab generate extract`?")
    rows = read_manifest(output.all_faces)
    known = sorted({r.cluster_id for r in rows if r.has_face})
    unknown = sorted((set(keep) | set(drop)) - set(known))
    if unknown:
        raise SwaplabError(f"cluster ids {unknown} not found; this extraction has clusters {known}")
    if keep:
        wanted = set(keep)
        chosen = face_set_rows(rows, lambda r: "user-keep" if r.cluster_id in wanted else None, one_per_frame=False)
    else:
        current = {_key(r) for r in read_manifest(output.manifest) if r.has_face}
        gone = set(drop)
        chosen = face_set_rows(rows, lambda r: "user-keep" if _key(r) in current and r.cluster_id not in gone
                               else None, one_per_frame=False)
    picked = {_key(r) for r in chosen if r.has_face}
    write_manifest([dataclasses.replace(r, selection="user-keep" if _key(r) in picked else "none") if r.has_face
                    else r for r in rows], output.all_faces)
    write_manifest(chosen, output.manifest)
    write_cluster_index(output, rows, chosen, sheets=False)
    return chosen


def _key(row: FaceRecord) -> tuple[str, int, int]:
    return (row.video_id, row.frame_index, row.face_index)
