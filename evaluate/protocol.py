"""Who is enrolled, who probes, and which split each probe belongs to.

Enrolment: each identity's first genuine video (by video id) builds its
template. Probes: the other genuine videos (genuine and zero-effort impostor
comparisons) and the deepfakes (attacks on their claimed identity).

Dev/eval split, thresholds are set on dev and applied to eval:

identity  enrolled identities, in sorted order, alternate between dev and eval (needs >= 4
          identities); an identity's attacks go where its genuine probes go, so a person's
          genuine and attack comparisons are never split between dev and eval
video     each identity's probe videos alternate (needs >= 2 probe videos everywhere)
segment   first half of each probe video's frames is dev, second half eval
auto      the first of these the data allows
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from swaplab.datasets.manifest import FaceRecord, faces_only, fake_video_key, matches_excluded, read_manifest
from swaplab.core.errors import SwaplabError

SPLITS = ("auto", "identity", "video", "segment")


@dataclass(frozen=True)
class Face:
    """A face crop and the manifest it belongs to (crop paths are relative to it)."""

    record: FaceRecord
    manifest: Path


@dataclass(frozen=True)
class Probe:
    """A probe face: ``kind`` genuine-video or attack, its ``split`` (dev/eval) and attack ``tier``."""

    face: Face
    kind: str
    split: str
    tier: str = ""


def load_faces(manifests: Sequence[Path], label: str) -> list[Face]:
    """Faces of the given label from manifests; a row of another label is an error."""
    faces = []
    for manifest in manifests:
        for record in faces_only(read_manifest(manifest)):
            if record.label != label:
                raise SwaplabError(f"{manifest}: holds {record.label} faces where {label} ones were expected")
            faces.append(Face(record, Path(manifest)))
    return faces


def videos_by_identity(faces: Sequence[Face]) -> dict[str, list[str]]:
    """identity -> its sorted video ids."""
    videos: dict[str, set[str]] = defaultdict(set)
    for face in faces:
        videos[face.record.identity].add(face.record.video_id)
    return {identity: sorted(vids) for identity, vids in sorted(videos.items())}


def check_inputs(genuine: Sequence[Face], attacks: dict[str, list[Face]]) -> dict[str, list[str]]:
    """Refuse data the protocol cannot use, with a line that says what is missing."""
    videos = videos_by_identity(genuine)
    if len(videos) < 2:
        raise SwaplabError(f"genuine faces of {len(videos)} identity found: zero-effort impostors need at least 2")
    lonely = [identity for identity, vids in videos.items() if len(vids) < 2]
    if lonely:
        raise SwaplabError(f"identities {lonely} have one video only: each needs an enrolment video and a probe video")
    sizes = {(f.record.crop_size, f.record.face_type) for f in genuine}
    for tier, faces in attacks.items():
        if not faces:
            raise SwaplabError(f"attack set {tier!r} holds no faces")
        unknown = sorted({f.record.identity for f in faces} - set(videos))
        if unknown:
            raise SwaplabError(f"attack set {tier!r} claims identities {unknown} that have no enrolment video")
        sizes |= {(f.record.crop_size, f.record.face_type) for f in faces}
    if len(sizes) > 1:
        raise SwaplabError(f"manifests mix crop sizes / face types {sorted(sizes)}: extract them all alike")
    return videos


def choose_split(mode: str, videos: dict[str, list[str]], attacks: dict[str, list[Face]]) -> str:
    """Resolve ``auto`` to the strongest split the data allows; check an explicit one."""
    if mode not in SPLITS:
        raise SwaplabError(f"unknown split {mode!r}; choose one of {SPLITS}")
    by_identity = len(videos) >= 4
    attack_videos = [len(videos_by_identity(faces)[claimed]) for faces in attacks.values()
                     for claimed in videos_by_identity(faces)]
    by_video = all(len(v) >= 3 for v in videos.values()) and all(n >= 2 for n in attack_videos)
    if mode == "auto":
        return "identity" if by_identity else "video" if by_video else "segment"
    if (mode == "identity" and not by_identity) or (mode == "video" and not by_video):
        raise SwaplabError(f"split {mode!r} needs more identities or videos than these manifests hold")
    return mode


def assign_probes(genuine: Sequence[Face], attacks: dict[str, list[Face]], videos: dict[str, list[str]],
                  split: str) -> tuple[list[Face], list[Probe]]:
    """Enrolment faces and the probes, each with its split."""
    enrol_video = {identity: vids[0] for identity, vids in videos.items()}
    enrolment = [f for f in genuine if f.record.video_id == enrol_video[f.record.identity]]
    probe_faces = [f for f in genuine if f.record.video_id != enrol_video[f.record.identity]]
    order = sorted(videos)  # one identity order for genuine and attack probes alike
    probes = [Probe(f, "genuine", s) for f, s in zip(probe_faces, _splits(probe_faces, split, order), strict=True)]
    for tier, faces in sorted(attacks.items()):
        probes += [Probe(f, "attack", s, tier) for f, s in zip(faces, _splits(faces, split, order), strict=True)]
    return enrolment, probes


def exclude_fakes(faces: Sequence[Face], excluded: Sequence[str]) -> tuple[list[Face], list[str]]:
    """Fake faces minus those of excluded videos, and the excluded videos found (``run/video`` ids).

    An entry of ``excluded`` matches a fake row when it equals its ``video_id``, its
    ``generator_run``, or ``generator_run/video_id`` (the unambiguous form: two runs may swap the
    same dst video and so share a video id).
    """
    drop = set(excluded)
    kept, found = [], set()
    for face in faces:
        if matches_excluded(face.record, drop):
            found.add(fake_video_key(face.record))
        else:
            kept.append(face)
    return kept, sorted(found)


def _splits(faces: Sequence[Face], split: str, order: Sequence[str]) -> list[str]:
    if split == "identity":
        return [("dev", "eval")[order.index(f.record.identity) % 2] for f in faces]
    if split == "video":
        per_identity = videos_by_identity(faces)
        return [("dev", "eval")[per_identity[f.record.identity].index(f.record.video_id) % 2] for f in faces]
    frames: dict[str, list[int]] = defaultdict(list)
    for face in faces:
        frames[video_key(face.record)].append(face.record.frame_index)
    middle = {video: sorted(idx)[len(idx) // 2] for video, idx in frames.items()}
    return ["dev" if f.record.frame_index < middle[video_key(f.record)] else "eval" for f in faces]


def video_key(record: FaceRecord) -> str:
    """A video's id that stays unique across generator runs: ``video_id`` for real faces,
    ``generator_run/video_id`` for fakes (two runs swapping one dst video share its video id)."""
    return fake_video_key(record) if record.generator_run else record.video_id
