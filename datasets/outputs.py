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
SCORE_TABLE = "scores.csv"


@dataclass(frozen=True)
class ExtractOutput:
    """``swaplab generate extract``: crops, the face manifest, the resolved config, contact sheets."""

    folder: Path

    @property
    def manifest(self) -> Path:
        return self.folder / FACE_MANIFEST

    @property
    def all_faces(self) -> Path:
        """Every face found (kept or not), the manifest ``generate select`` re-selects from."""
        return self.folder / "all_faces.csv"

    @property
    def config(self) -> Path:
        return self.folder / "extract_config.json"

    @property
    def crops(self) -> Path:
        return self.folder / "crops"

    @property
    def skipped(self) -> Path:
        """The inputs left out for holding no clear face: ``{"format": 1, "skipped": [{"input", "error"}]}``."""
        return self.folder / "skipped.json"

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

    def mesh(self, video_id: str) -> Path:
        """The dense-landmark sidecar of one input (float32 (N, 478, 2))."""
        return self.landmarks / f"{video_id}.npy"

    def sheet(self, cluster_id: int) -> Path:
        """The contact sheet (PNG) of one identity cluster."""
        return self.clusters / f"cluster_{cluster_id:03d}.png"


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

    def mesh_landmarks(self, side: str, key: str) -> Path:
        """Cached Face Mesh landmarks of one side's training crops (``key`` names the face set)."""
        return self.folder / f"mesh_{side}_{key}.npy"

    def snapshot(self, iteration: int) -> Path:
        """A copy of the checkpoint kept at ``iteration`` (benchmarks keep curves of them)."""
        return self.folder / "snapshots" / f"model_{iteration:07d}.pt"


@dataclass(frozen=True)
class PretrainOutput:
    """``swaplab generate pretrain``: the face pool, the training folder and the exported model."""

    folder: Path

    @property
    def pool(self) -> Path:
        """The decoded faces it trained on, with their identities and source manifests."""
        return self.folder / "pool.pt"

    @property
    def pretrained(self) -> Path:
        """The small model to fine-tune from, with its provenance."""
        return self.folder / "pretrained.pt"

    @property
    def checkpoint(self) -> Path:
        """The full training checkpoint (resumable)."""
        return TrainOutput(self.folder).checkpoint

    @property
    def config(self) -> Path:
        return self.folder / "pretrain_config.json"


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

    def mask(self, frame_index: int) -> Path:
        """The blend mask of one frame (frame size, 8-bit)."""
        return self.masks / f"{frame_index:06d}.png"


@dataclass(frozen=True)
class RunOutput:
    """``swaplab generate run``: src and dst faces, the model, the swap, the config, the tier chosen."""

    folder: Path
    dst_stem: str

    @property
    def src_faces(self) -> ExtractOutput:
        return ExtractOutput(self.folder / "src_faces")

    @property
    def dst_faces(self) -> ExtractOutput:
        return ExtractOutput(self.folder / "dst_faces")

    @property
    def model(self) -> TrainOutput:
        return TrainOutput(self.folder / "model")

    @property
    def swap(self) -> SwapOutput:
        return SwapOutput(self.folder / "swap", self.dst_stem)

    @property
    def config(self) -> Path:
        return self.folder / "run_config.json"

    @property
    def tier(self) -> Path:
        """The preset trained (``--preset auto`` resolved) and why."""
        return self.folder / "tier.json"


@dataclass(frozen=True)
class FROutput:
    """``swaplab evaluate fr``: score tables per backend and level, metrics, config."""

    folder: Path

    def scores(self, backend: str, level: str) -> Path:
        """Folder of one backend x level: ``scores.csv`` plus bob-style 4-column files."""
        return self.folder / "scores" / backend / level

    def score_table(self, backend: str, level: str) -> Path:
        return self.scores(backend, level) / SCORE_TABLE

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


@dataclass(frozen=True)
class StudyOutput:
    """``swaplab study build`` and ``study run``: one build folder.

    ``faces/<identity>/<video>/`` whole source videos extracted once; beside them
    ``faces/<identity>/<segment>.faces.csv`` (enrolment) and ``faces/<identity>/train.faces.csv``
    (generator training): the rows of the segments' time ranges;
    ``probes/<identity>/<segment>.mp4`` probe segments cut once (the swap's input);
    ``real/<identity>/<segment>.mp4`` the same cut re-encoded through the composite writer, and its faces;
    ``fakes/<tier>/<src>__<dst>/`` one model and its swaps; ``crossdata/`` third-party test faces and scores.
    """

    folder: Path

    @property
    def record(self) -> Path:
        """``study.json``: the typed description of the build (``swaplab.datasets.study_record``)."""
        return self.folder / "study.json"

    @property
    def build_config(self) -> Path:
        return self.folder / "study_build_config.json"

    @property
    def run_config(self) -> Path:
        return self.folder / "study_run_config.json"

    def source_faces(self, identity: str, video_stem: str) -> ExtractOutput:
        return ExtractOutput(self.folder / "faces" / identity / video_stem)

    def segment_manifest(self, identity: str, name: str) -> Path:
        """Faces of one or more segments, in a manifest above the source videos' crops."""
        return self.folder / "faces" / identity / f"{name}.{FACE_MANIFEST}"

    def probe_cut(self, identity: str, name: str) -> Path:
        return self.folder / "probes" / identity / f"{name}.mp4"

    def real_probe(self, identity: str, name: str) -> Path:
        return self.folder / "real" / identity / f"{name}.mp4"

    def real_probe_faces(self, identity: str, name: str) -> ExtractOutput:
        return ExtractOutput(self.folder / "real" / identity / f"{name}_faces")

    def job(self, tier: str, src: str, dst: str) -> Path:
        return self.folder / "fakes" / tier / f"{src}__{dst}"

    @property
    def fr(self) -> FROutput:
        return FROutput(self.folder / "fr")

    def detect(self, detector: str, tier: str) -> DetectOutput:
        return DetectOutput(self.folder / "detect" / f"{detector}-{tier}")

    @property
    def crossdata(self) -> Path:
        """Third-party test set: ``faces/<video key>/``, ``metrics.csv``, ``metrics.json``, ``scores.csv``."""
        return self.folder / "crossdata"

    @property
    def report(self) -> Path:
        return self.folder / "report"


@dataclass(frozen=True)
class SwapJobOutput:
    """One swap of a study job: the composite's folder and the faces extracted from the fake."""

    folder: Path
    dst_stem: str

    @property
    def swap(self) -> SwapOutput:
        return SwapOutput(self.folder, self.dst_stem)

    @property
    def attack_faces(self) -> ExtractOutput:
        """Faces detected anew in the composite, with the same settings as the real probes."""
        return ExtractOutput(self.folder / "attack")


@dataclass(frozen=True)
class StudyBuildOutput:
    """What one ``swaplab study build`` wrote into ``study.folder``, by name.

    ``enrolment`` / ``training``: identity -> its segment manifest; ``probe_cuts``: identity -> its
    probe segments, cut once (the swaps' input); ``real_probes``: the real probes' face manifests;
    ``jobs``: one folder per model (tier x pair); ``swapped``: tier -> every swapped video, failed
    swaps included; ``fakes``: tier -> the attack manifests kept (failed swaps left out);
    ``failed``: the swapped videos of the failed swaps (kept on disk, counted in ``study.json``).
    """

    study: StudyOutput
    enrolment: dict[str, Path]
    training: dict[str, Path]
    probe_cuts: dict[str, tuple[Path, ...]]
    real_probes: tuple[Path, ...]
    jobs: tuple[Path, ...]
    swapped: dict[str, tuple[Path, ...]]
    fakes: dict[str, tuple[Path, ...]]
    failed: tuple[Path, ...]

    @property
    def folder(self) -> Path:
        return self.study.folder

    @property
    def record(self) -> Path:
        """``study.json``, read by ``swaplab.datasets.study_record.StudyRecord``."""
        return self.study.record

    @property
    def config(self) -> Path:
        return self.study.build_config
