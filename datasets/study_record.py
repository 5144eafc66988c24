"""``study.json``: the typed, versioned description of a study build, read and written only here.

What the build made and how: each segment's role (enrolment, generator training, probe), the
processing chain of each kind of face, every swap with its failed-swap figures, and the face
manifests that ``study run`` measures (enrolment + real probes as genuine, kept fakes as attacks;
real probes alone as the detectors' bona fide).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import write_json_atomic

# 1 - a plain dict: genuine, fakes, pairs, jobs (the generator trained on the enrolment video)
# 2 - typed record: segments and roles, processing chains, swaps with failed-swap flags, kept / failed fakes
STUDY_VERSION = 2


@dataclass(frozen=True)
class SegmentUse:
    """One segment of a source video and what the study used it for.

    ``video`` is relative to the index's root; ``start`` / ``end`` in seconds (``None``: the
    whole video); ``role`` enrol, train or probe; ``manifest`` the faces the study used.
    """

    identity: str
    video: str
    segment: str
    start: float | None
    end: float | None
    role: str
    name: str
    manifest: str


@dataclass(frozen=True)
class SwapResult:
    """One swapped probe segment: who is shown (``claimed``) over whom (``filmed``), and whether
    the swap failed (``face_change`` = mean |fake - probe| inside the face boxes, 0-255;
    ``similarity_to_dst`` = FaceNet similarity of fake and probe faces, from ``quality.json``;
    ``pretrained`` = the pretrained model the pair's model was fine-tuned from, empty if none)."""

    tier: str
    claimed: str
    filmed: str
    probe: str
    video: str
    manifest: str
    face_change: float
    similarity_to_dst: float
    failed: bool
    reason: str = ""
    generator_run: str = ""
    pretrained: str = ""

    @property
    def key(self) -> str:
        """``generator_run/video_id`` of the fake's faces: how FR / detection configs name it in ``excluded``."""
        return f"{self.generator_run}/{Path(self.video).stem}"


@dataclass(frozen=True)
class StudyRecord:
    """Everything ``study run`` and reports need from a build; ``to_file`` / ``from_file``."""

    enrolment: tuple[str, ...]
    real_probes: tuple[str, ...]
    fakes: dict[str, tuple[str, ...]]  # tier -> attack manifests, failed swaps left out
    swaps: tuple[SwapResult, ...]
    segments: tuple[SegmentUse, ...]
    pairs: tuple[tuple[str, str], ...]
    chains: dict[str, tuple[str, ...]]
    failed_rule: str
    version: int = STUDY_VERSION
    roles: dict[str, str] = field(default_factory=dict)

    @property
    def genuine(self) -> tuple[str, ...]:
        """Genuine manifests of the FR protocol: enrolment segments first, then real probes."""
        return self.enrolment + self.real_probes

    @property
    def failed(self) -> tuple[SwapResult, ...]:
        """The failed swaps, left out of the attack set."""
        return tuple(swap for swap in self.swaps if swap.failed)

    def all_fakes(self) -> dict[str, tuple[str, ...]]:
        """tier -> every fake manifest, failed swaps included (to pass with ``excluded``)."""
        found: dict[str, list[str]] = {}
        for swap in self.swaps:
            if swap.manifest:
                found.setdefault(swap.tier, []).append(swap.manifest)
        return {tier: tuple(paths) for tier, paths in sorted(found.items())}

    @property
    def failed_count(self) -> int:
        return sum(swap.failed for swap in self.swaps)

    def to_file(self, target: Path) -> Path:
        payload = asdict(self)
        payload["failed_count"] = self.failed_count
        write_json_atomic(Path(target), payload)
        return Path(target)

    @classmethod
    def from_file(cls, path: Path) -> StudyRecord:
        path = Path(path)
        if not path.exists():
            raise SwaplabError(f"{path.parent}: no {path.name}; run `swaplab study build` first")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise SwaplabError(f"{path}: not JSON ({err})") from None
        version = data.get("version", 1) if isinstance(data, dict) else 1
        if version != STUDY_VERSION:
            newer = "newer than this swaplab reads" if version > STUDY_VERSION else "from an older swaplab"
            raise SwaplabError(f"{path}: study record version {version} is {newer}; run `swaplab study build` again")
        try:
            return _from_dict(data)
        except (KeyError, TypeError, ValueError) as err:
            raise SwaplabError(f"{path}: broken study record ({err})") from None


def _from_dict(data: dict) -> StudyRecord:
    names = {f.name for f in fields(StudyRecord)}
    values = {k: v for k, v in data.items() if k in names}
    values["enrolment"] = tuple(values["enrolment"])
    values["real_probes"] = tuple(values["real_probes"])
    values["fakes"] = {tier: tuple(paths) for tier, paths in values["fakes"].items()}
    values["swaps"] = tuple(SwapResult(**s) for s in values["swaps"])
    values["segments"] = tuple(SegmentUse(**s) for s in values["segments"])
    values["pairs"] = tuple((a, b) for a, b in values["pairs"])
    values["chains"] = {kind: tuple(steps) for kind, steps in values["chains"].items()}
    return StudyRecord(**values)
