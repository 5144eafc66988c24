"""Stage ``extract``: videos / images -> every face, tracked, clustered by identity, aligned and cropped.

Two passes, one decode of each input, so that memory stays flat for long videos:

1. scan: every frame goes through shot-cut detection (:mod:`swaplab.faces.shots`) and the
   multi-face tracker (:class:`swaplab.faces.tracks.FaceTracker`: full MTCNN on keyframes, ONet
   tracking between, FaceNet identity checks on keyframes; tracks end at cuts and at identity
   changes). A frame whose faces can no longer change (``FaceTracker.settle_lag`` frames later)
   has each face aligned to the 5-point template, cropped and written, its 478-point Face Mesh
   kept for the sidecar; this runs on a worker thread (:class:`CropWriter`, frames in order) while
   the tracker goes on with the next frames, and decoding plus shot-cut detection run a few frames
   ahead on another (:func:`swaplab.core.readahead.read_ahead`): PyAV, OpenCV, PNG encoding and
   MediaPipe release the GIL, so the threads share the cores. After every input is scanned, the
   tracks of all inputs are clustered by identity (:mod:`swaplab.faces.clusters`) and a rule
   chooses whose faces to keep;
2. write: every face becomes a row of the all-faces manifest, the kept ones also of the face
   set; one contact sheet per cluster and ``clusters.csv`` let the user see who is who (and
   re-select with ``generate select``). With landmark smoothing (``smooth`` > 1) a face's
   landmarks are only known once its whole track is, so the crops are made here instead, on a
   second decode.
"""

from __future__ import annotations

import shutil
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from swaplab.core.config import save_config
from swaplab.core.device import intra_op_threads
from swaplab.core.errors import NoFaceError, SwaplabError
from swaplab.core.fileio import atomic_path, require_input_file, require_writable_dir, sha256_of, write_json_atomic
from swaplab.core.media import Frame, MediaInfo, image_files, iter_frames, probe, read_image, warn, write_image
from swaplab.core.progress import track as progress
from swaplab.core.readahead import read_ahead
from swaplab.datasets.manifest import NAN_BOX, NAN_LANDMARKS, NAN_MATRIX, FaceRecord, write_manifest
from swaplab.datasets.outputs import ExtractOutput
from swaplab.faces import align, clusters, selection
from swaplab.faces.backends import l2_normalise
from swaplab.faces.detector import Detection, FaceDetector
from swaplab.faces.shots import MIN_SHOT_FRAMES, ShotDetector
from swaplab.faces.tracks import SPLIT_DISTANCE, FaceTracker, Track, smooth_landmarks

MANIFEST_NAME = "faces.csv"
FACE_RULES = ("auto", *clusters.FACE_RULES)


@dataclass(frozen=True)
class ExtractConfig:
    """Settings of ``swaplab generate extract``.

    ``identity`` defaults to each input's file (or folder) name; ``detect_every`` = 1 runs full
    MTCNN on every frame; ``smooth`` is the landmark smoothing window in frames (0 = off).
    ``faces``: ``auto`` (``ref`` when ``identity_ref`` is given, else ``largest``), ``largest``
    (the identity cluster with the most faces), ``ref`` or ``all``. ``identity_ref`` and
    ``exclude_ref`` are images or folders of images. ``mesh`` stores 478-point Face Mesh
    landmarks; ``max_frames`` stops each input after that many frames (None = all).
    ``embed_every``: a continuing track's identity (FaceNet) is checked on every k-th of its
    keyframes (FaceNet is the costliest step per face: about 55 ms of CPU time in fp32, 32 ms in
    bf16, against 2 ms for ONet tracking); ``split_threshold`` is the cosine distance that ends a
    track there. ``min_identity_width``: tracks with faces narrower than this (median box width,
    px) are not clustered with others (``faces.clusters.MIN_IDENTITY_WIDTH``); nor are tracks whose
    median FaceNet feature norm is below ``min_identity_norm`` (``faces.clusters.MIN_IDENTITY_NORM``:
    blurred, occluded or cut-off faces, detector false positives). A track is clearly a face when
    FaceNet can identify it (both gates passed), or MTCNN scored one of its faces at least ``min_face_score``
    (``faces.clusters.MIN_FACE_SCORE``; 0: any detection); an input without such a track has no face
    (an error). Measurement code that must see every face a detector would find (fakes in the study,
    ``detect score``) sets it to 0.
    """

    inputs: tuple[Path, ...]
    out: Path
    identity: str | None = None
    crop_size: int = 256
    face_type: str = "whole_face"
    detect_every: int = 4
    min_face_size: int = 40
    batch_size: int = 8
    smooth: int = 0
    identity_ref: tuple[Path, ...] = ()
    exclude_ref: tuple[Path, ...] = ()
    faces: str = "auto"
    ref_threshold: float = clusters.REF_DISTANCE
    cluster_threshold: float = clusters.CLUSTER_DISTANCE
    min_identity_width: float = clusters.MIN_IDENTITY_WIDTH
    min_identity_norm: float = clusters.MIN_IDENTITY_NORM
    min_face_score: float = clusters.MIN_FACE_SCORE
    split_threshold: float = SPLIT_DISTANCE
    embed_every: int = 2
    mesh: bool = True
    max_frames: int | None = None
    image_format: str = "png"
    device: str = "auto"

    def __post_init__(self) -> None:
        for name in ("identity_ref", "exclude_ref"):
            value = getattr(self, name)
            object.__setattr__(self, name, () if value is None else (Path(value),) if isinstance(value, str | Path)
                               else tuple(Path(v) for v in value))
        if self.crop_size not in align.CROP_SIZES:
            raise SwaplabError(f"crop size {self.crop_size} not supported; choose one of {align.CROP_SIZES}")
        align.face_type(self.face_type)
        if self.detect_every < 1 or self.batch_size < 1 or self.smooth < 0 or self.embed_every < 1:
            raise SwaplabError("detect_every, embed_every and batch_size must be >= 1, smooth >= 0")
        if self.image_format not in ("png", "jpg"):
            raise SwaplabError(f"image format {self.image_format!r}: choose png or jpg")
        if self.faces not in FACE_RULES:
            raise SwaplabError(f"--faces {self.faces!r}: choose one of {FACE_RULES}")
        if self.faces == "ref" and not self.identity_ref:
            raise SwaplabError("--faces ref needs --identity-ref images")
        if not 0 <= self.min_face_score <= 1:
            raise SwaplabError(f"min_face_score {self.min_face_score:g}: an MTCNN score, 0 to 1")
        if self.max_frames is not None and self.max_frames < 1:
            raise SwaplabError("max_frames must be >= 1")
        if not self.inputs:
            raise SwaplabError("no input given")

    @property
    def rule(self) -> str:
        """The face rule in force: ``auto`` resolved."""
        if self.faces != "auto":
            return self.faces
        return "ref" if self.identity_ref else "largest"


@dataclass(frozen=True)
class CropFile:
    """One written face: its crop's path relative to the output, the frame->crop matrix (2, 3),
    its row in the mesh sidecar (-1 without mesh) and its place among the frame's faces."""

    path: str
    matrix: np.ndarray
    mesh_index: int
    face_index: int


def faces_of_frame(index: int, tracks: list[Track]) -> list[tuple[int, Detection]]:
    """(track id, detection) of every track with a face on frame ``index``, in track-id order."""
    present = sorted((t for t in tracks if index in t.faces), key=lambda t: t.track_id)
    return [(t.track_id, t.faces[index]) for t in present]


class CropWriter:
    """Crops, PNGs and Face Mesh of settled frames on one worker thread, in frame order.

    :meth:`submit` snapshots the frame's faces (the tracker keeps changing its tracks) and queues
    the work; at most ``backlog`` frames wait, so memory stays flat. Leaving the ``with`` block
    waits for every frame and re-raises the first error of the worker.
    """

    def __init__(self, extractor: Extractor, scan: Scan, backlog: int = 8) -> None:
        self.extractor, self.scan, self.backlog = extractor, scan, backlog
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="swaplab-crops")
        self._queued: deque[Future] = deque()

    def __enter__(self) -> CropWriter:
        return self

    def submit(self, index: int, image: np.ndarray, tracks: list[Track]) -> None:
        faces = faces_of_frame(index, tracks)
        if not faces:
            return
        self._queued.append(self._pool.submit(self.extractor.crop_faces, self.scan, index, image, faces))
        while len(self._queued) > self.backlog or (self._queued and self._queued[0].done()):
            self._queued.popleft().result()

    def __exit__(self, exc_type: type | None, *rest: object) -> None:
        try:
            while self._queued and exc_type is None:
                self._queued.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class Scan:
    """Pass 1 of one input: its frames (index, timestamp, (H, W)), tracks, shot cuts, and the crops
    written so far ((frame index, track id) -> :class:`CropFile`) with their Face Mesh rows (478, 2)."""

    info: MediaInfo
    frames: list[tuple[int, float, tuple[int, int]]] = field(default_factory=list)
    tracks: list[Track] = field(default_factory=list)
    cuts: list[int] = field(default_factory=list)
    identity_splits: int = 0
    crops: dict[tuple[int, int], CropFile] = field(default_factory=dict)
    mesh_rows: list[np.ndarray] = field(default_factory=list)

    @property
    def video_id(self) -> str:
        return _video_id(self.info.path)


class Extractor:
    """Scans inputs (pass 1) and writes their faces (pass 2); shares one detector, FaceNet and mesh."""

    def __init__(self, config: ExtractConfig) -> None:
        self.config = config
        self.detector = FaceDetector(min_face_size=config.min_face_size, device=config.device)
        self.embedder = _facenet(config.device)
        self.mesh = _face_mesh() if config.mesh else None
        self.next_track = 0

    def embed(self, image: np.ndarray, detections: list[Detection]) -> np.ndarray:
        """FaceNet features (N, 512) of detections on ``image`` (H, W, 3), before L2 normalisation
        (their norm is the face's quality; the tracker normalises them)."""
        from swaplab.faces.facenet import facenet_crop

        return self.embedder.features(np.stack([facenet_crop(image, det.box) for det in detections]))

    def references(self, paths: tuple[Path, ...], what: str) -> np.ndarray | None:
        """One embedding (R, 512) per reference image (its largest face), or None without images."""
        images = [p for path in paths for p in (image_files(path) if Path(path).is_dir() else [Path(path)])]
        if not images:
            return None
        rows = []
        for path in images:
            image = read_image(require_input_file(path))
            faces = self.detector.detect(image[None])[0]
            if not faces:
                raise SwaplabError(f"{path}: no face found in the {what} image")
            rows.append(self.embed(image, [max(faces, key=lambda det: det.area)])[0])
        return l2_normalise(np.stack(rows))

    def scan(self, source: Path) -> Scan:
        """Pass 1: shots and face tracks of one input."""
        info = probe(require_input_file(source))
        still = info.kind != "video"  # photos: every image is a keyframe, any change is a cut
        tracker = FaceTracker(self.detector, self.embed, detect_every=1 if still else self.config.detect_every,
                              embed_every=self.config.embed_every, split_distance=self.config.split_threshold,
                              first_id=self.next_track)
        shots = ShotDetector(fps=info.fps, min_shot_frames=1 if still else MIN_SHOT_FRAMES)
        scan = Scan(info)
        total = min(info.frame_count, self.config.max_frames or info.frame_count)
        crop_now = self.config.smooth <= 1  # smoothed landmarks need the whole track: crops in pass 2
        pending: deque[tuple[int, np.ndarray]] = deque()
        # the crop worker takes one core: torch runs on the others (on 2 cores: 1 thread, 22.6 frames/s
        # on multi/hikers.mp4 against 19.0 with both threads fighting the worker for the cores)
        with CropWriter(self, scan) as writer, intra_op_threads(torch.get_num_threads() - int(crop_now)):
            for frame, shot in progress(read_ahead(self._decoded(info, shots)), f"detect {info.path.name}", total):
                tracker.step(frame.index, frame.image, shot)
                scan.frames.append((frame.index, frame.timestamp, frame.image.shape[:2]))
                if crop_now:
                    pending.append((frame.index, frame.image))
                    while len(pending) > tracker.settle_lag:
                        writer.submit(*pending.popleft(), tracker.tracks)
            while pending:
                writer.submit(*pending.popleft(), tracker.tracks)
        scan.tracks, scan.cuts, scan.identity_splits = tracker.finished(), shots.cuts, tracker.identity_splits
        self.next_track = tracker.next_id
        if not scan.tracks:
            raise NoFaceError(f"{source}: no face found in any of {len(scan.frames)} frames")
        cfg = self.config
        if not any(clear_face(t, cfg.min_identity_width, cfg.min_identity_norm, cfg.min_face_score) for t in scan.tracks):
            self.discard(scan)
            best = max(t.best_score for t in scan.tracks)
            faces = sum(len(t.faces) for t in scan.tracks)
            raise NoFaceError(f"{source}: no face found in any of {len(scan.frames)} frames ({faces} "
                               f"detection{'s' * (faces != 1)}, none a clear face: best detector score {best:.3f}, "
                               f"under {cfg.min_face_score:g}, and too small or blurred for FaceNet; "
                               "--min-face-score 0 takes any detection)")
        return scan

    def discard(self, scan: Scan) -> None:
        """Remove the crops pass 1 wrote for ``scan`` (an input left out for holding no clear face), and their
        folder when nothing else is in it."""
        folders = set()
        for written in scan.crops.values():
            path = Path(self.config.out) / written.path
            path.unlink(missing_ok=True)
            folders.add(path.parent)
        scan.crops.clear()
        for folder in folders:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()

    def _decoded(self, info: MediaInfo, shots: ShotDetector) -> Iterator[tuple[Frame, int]]:
        """Each frame (up to ``max_frames``) with its shot number; run ahead on the decoding thread."""
        for frame in iter_frames(info.path, info):
            if self.config.max_frames is not None and frame.index >= self.config.max_frames:
                return
            yield frame, shots.shot_of(frame.index, frame.image)

    def crop_frame(self, scan: Scan, index: int, image: np.ndarray, tracks: list[Track]) -> None:
        """Align, crop and write every face of frame ``index`` (H, W, 3) found in ``tracks``."""
        self.crop_faces(scan, index, image, faces_of_frame(index, tracks))

    def crop_faces(self, scan: Scan, index: int, image: np.ndarray, faces: list[tuple[int, Detection]]) -> None:
        """Align, crop and write the (track id, detection) ``faces`` of frame ``index`` (H, W, 3).

        Faces are numbered in the given (track-id) order; their Face Mesh rows are appended to
        ``scan.mesh_rows``.
        """
        cfg = self.config
        for face_index, (track_id, face) in enumerate(faces):
            matrix = align.alignment_matrix(face.landmarks, cfg.crop_size, cfg.face_type)
            relative = f"crops/{scan.video_id}/{index:06d}_{face_index:02d}.{cfg.image_format}"
            crop = align.crop(image, matrix, cfg.crop_size)
            write_image(Path(cfg.out) / relative, crop)
            scan.crops[(index, track_id)] = CropFile(relative, matrix, self.add_mesh(scan, crop, matrix), face_index)

    def add_mesh(self, scan: Scan, crop: np.ndarray, matrix: np.ndarray) -> int:
        """Append the crop's Face Mesh, in frame pixels (478, 2), NaN when none is found; its row (-1 without mesh)."""
        if self.mesh is None:
            return -1
        from swaplab.faces.mesh import N_POINTS, to_frame

        points = self.mesh.crop_landmarks(crop)
        scan.mesh_rows.append(np.full((N_POINTS, 2), np.nan, np.float32) if points is None
                              else to_frame(points, matrix).astype(np.float32))
        return len(scan.mesh_rows) - 1

    def write(self, scan: Scan, groups: dict[int, int], kept: dict[int, str]) -> list[FaceRecord]:
        """Pass 2: the all-faces rows and mesh sidecar of one scanned input (its crops too when smoothing)."""
        if self.config.smooth > 1:
            for track in scan.tracks:
                _smooth_track(track, self.config.smooth)
            for frame in progress(iter_frames(scan.info.path, scan.info), f"crop {scan.info.path.name}",
                                  len(scan.frames)):
                if frame.index >= len(scan.frames):
                    break
                self.crop_frame(scan, frame.index, frame.image, scan.tracks)
        by_frame: dict[int, list[Track]] = {}
        for track in scan.tracks:
            for index in track.faces:
                by_frame.setdefault(index, []).append(track)
        writer = _RowWriter(self, scan, groups, kept)
        for index, timestamp, shape in scan.frames:
            writer.frame(index, timestamp, shape, sorted(by_frame.get(index, []), key=lambda t: t.track_id))
        writer.save_mesh()
        return writer.rows


class _RowWriter:
    """Builds one input's all-faces rows from its scan and writes its mesh sidecar."""

    def __init__(self, extractor: Extractor, scan: Scan, groups: dict[int, int], kept: dict[int, str]) -> None:
        cfg = extractor.config
        self.extractor, self.scan, self.groups, self.kept = extractor, scan, groups, kept
        self.output = ExtractOutput(Path(cfg.out))
        video_id = scan.video_id
        path = scan.info.path
        self.common = dict(identity=cfg.identity or video_id, video_id=video_id, source_path=str(path),
                           source_sha256=sha256_of(path) if path.is_file() else "", crop_size=cfg.crop_size,
                           face_type=cfg.face_type, template=align.TEMPLATE_NAME,
                           detector=f"{extractor.detector.describe()}, every={cfg.detect_every}, onet-tracking")
        self.mesh_path = self.output.mesh(video_id).relative_to(self.output.folder).as_posix() if cfg.mesh else ""
        self.rows: list[FaceRecord] = []

    def frame(self, index: int, timestamp: float, shape: tuple[int, int], tracks: list[Track]) -> None:
        height, width = shape
        common = dict(self.common, frame_index=index, timestamp=timestamp, frame_width=width,
                      frame_height=height, shot_id=self.scan_shot(index, tracks))
        if not tracks:
            self.rows.append(FaceRecord(crop_path="", has_face=False, bbox=NAN_BOX, landmarks=NAN_LANDMARKS,
                                        matrix=NAN_MATRIX, det_score=0.0, landmark_source="none", selection="none",
                                        **common))
            return
        for track in tracks:
            self.rows.append(self.face(index, track, common))

    def scan_shot(self, index: int, tracks: list[Track]) -> int:
        if tracks:
            return tracks[0].shot_id
        return sum(1 for cut in self.scan.cuts if cut <= index)

    def face(self, index: int, track: Track, common: dict) -> FaceRecord:
        det, written = track.faces[index], self.scan.crops[(index, track.track_id)]
        return FaceRecord(crop_path=written.path, has_face=True, bbox=tuple(float(v) for v in det.box),
                          landmarks=tuple((float(x), float(y)) for x, y in det.landmarks),
                          matrix=tuple(tuple(float(v) for v in row) for row in written.matrix), det_score=det.score,
                          landmark_source=track.sources[index], selection=self.kept.get(track.track_id, "none"),
                          face_index=written.face_index, track_id=track.track_id,
                          cluster_id=self.groups[track.track_id], mesh_path=self.mesh_path,
                          mesh_index=written.mesh_index, **common)

    def save_mesh(self) -> None:
        if self.extractor.mesh is None:
            return
        target = self.output.mesh(self.scan.video_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        rows = np.stack(self.scan.mesh_rows) if self.scan.mesh_rows else np.zeros((0, 478, 2), np.float32)
        with atomic_path(target) as tmp, open(tmp, "wb") as handle:
            np.save(handle, rows.astype(np.float32))


def _smooth_track(track: Track, window: int) -> None:
    """Smooth a track's landmarks over time, in place (frames missing from the track split runs)."""
    first, last = min(track.faces), max(track.faces)
    points = np.full((last - first + 1, 5, 2), np.nan)
    for index, det in track.faces.items():
        points[index - first] = det.landmarks
    smoothed = smooth_landmarks(points, window)
    for index, det in list(track.faces.items()):
        track.faces[index] = Detection(det.box, det.score, smoothed[index - first])
        track.sources[index] = "smoothed"


def _video_id(path: Path) -> str:
    return path.stem if path.is_file() else path.name


def _facenet(device: str):
    """FaceNet for the identity checks and clusters: bf16 autocast where the hardware runs it fast.

    On this project's CPU (AVX512-BF16) bf16 takes 32 ms of CPU time per face against 55 ms in fp32,
    with embeddings at cosine >= 0.9997 to fp32 on real faces (benchmarks/bench_extract.py).
    """
    from swaplab.core.device import resolve_device, resolve_precision
    from swaplab.faces.backends import FR_BACKENDS

    return FR_BACKENDS.get("facenet", device=device, precision=resolve_precision("auto", resolve_device(device)))


def _face_mesh():
    from swaplab.faces.mesh import FaceMesh

    return FaceMesh()


def summaries(scans: list[Scan], min_width: float = clusters.MIN_IDENTITY_WIDTH,
              min_norm: float = clusters.MIN_IDENTITY_NORM) -> list[clusters.TrackSummary]:
    """One :class:`~swaplab.faces.clusters.TrackSummary` per track of every scanned input.

    A track whose median face box is narrower than ``min_width`` px, or whose median FaceNet feature
    norm is below ``min_norm``, gets no embedding: FaceNet cannot tell people apart on such faces,
    so it is a cluster of its own and matches no reference. Otherwise its embedding is the mean of
    its ``clusters.BEST_FACES`` embedded faces of highest feature norm.
    """
    return [clusters.TrackSummary(t.track_id, scan.video_id, len(t.faces),
                                  t.template(best=clusters.BEST_FACES) if identifiable(t, min_width, min_norm) else None,
                                  t.total_area, frozenset(t.faces)) for scan in scans for t in scan.tracks]


def identifiable(track: Track, min_width: float, min_norm: float) -> bool:
    """Whether FaceNet can tell this track's person from others: faces wide and clear enough."""
    return track.median_width >= min_width and track.feature_norm >= min_norm


def clear_face(track: Track, min_width: float, min_norm: float, min_score: float) -> bool:
    """Whether a track is clearly a face: identifiable, or one of its faces scored ``min_score`` by MTCNN."""
    return identifiable(track, min_width, min_norm) or track.best_score >= min_score


def run_extract(config: ExtractConfig) -> ExtractOutput:
    """Extract every face of every input into ``config.out``; return the output's typed record."""
    output = ExtractOutput(require_writable_dir(config.out))
    sources = [require_input_file(Path(p)) for p in config.inputs]
    for source in sources:
        probe(source)  # fail fast on a bad input before any work
    check_distinct_names(sources)
    extractor = Extractor(config)
    references = extractor.references(config.identity_ref, "identity reference")
    exclude = extractor.references(config.exclude_ref, "exclude reference")
    output.skipped.unlink(missing_ok=True)
    scans, skipped = scan_inputs(extractor, sources)
    tracks = summaries(scans, config.min_identity_width, config.min_identity_norm)
    groups = clusters.cluster_tracks(tracks, config.cluster_threshold)
    kept = clusters.choose(tracks, groups, config.rule, references, exclude, config.ref_threshold)
    rows = [row for scan in scans for row in extractor.write(scan, groups, kept)]
    priority = _priority(tracks, references)
    write_manifest(rows, output.all_faces)
    selection.write_face_set(output, rows, one_per_frame=config.rule != "all", priority=priority)
    write_json_atomic(output.skipped, {"format": SKIPPED_FORMAT, "skipped": skipped})
    save_config(config, output.config)
    for left in skipped:
        remove_outputs_of(output, _video_id(Path(left["input"])))
    return output


def remove_outputs_of(output: ExtractOutput, video_id: str) -> None:
    """Remove what an earlier run into ``output`` wrote for an input now left out: its crops folder and its mesh
    sidecar (no row of the new manifests points at them). Nothing for an id that is no plain folder name of
    ``crops/`` (``""``, ``"."``, ``".."``: an input named so would otherwise take other inputs' crops with it)."""
    folder = output.crops / video_id
    if folder.resolve().parent != output.crops.resolve():
        return
    shutil.rmtree(folder, ignore_errors=True)
    output.mesh(video_id).unlink(missing_ok=True)


SKIPPED_FORMAT = 1  # skipped.json: {"format": 1, "skipped": [{"input": path, "error": message}, ...]}


def check_distinct_names(sources: list[Path]) -> None:
    """Refuse an input given twice, and two inputs of one name (``a/clip.mp4`` and ``b/clip.mp4``, ``x.mp4`` and
    a folder ``x``): the name is the crops' folder and the rows' video id, so their crops would overwrite."""
    ids: dict[str, Path] = {}
    for source in sources:
        first = ids.setdefault(_video_id(source), source)
        if first is source:
            continue
        if Path(first).resolve() == Path(source).resolve():
            raise SwaplabError(f"{source} is given twice; give each input once")
        raise SwaplabError(f"{first} and {source} share the name {_video_id(source)!r}, which names their crops "
                           "and video id; rename or link one")


def scan_inputs(extractor: Extractor, sources: list[Path]) -> tuple[list[Scan], list[dict[str, str]]]:
    """Pass 1 of every input, and those left out (``{"input", "error"}``). Among several inputs, one without a
    (clear) face is left out with a warning (its crops removed); the extraction fails when no input has a face."""
    scans, faceless = [], []
    for source in sources:
        try:
            scans.append(extractor.scan(source))
        except NoFaceError as error:
            if len(sources) == 1:
                raise
            faceless.append({"input": str(source), "error": str(error)})
    if not scans:
        raise NoFaceError(f"no face found in any of the {len(sources)} inputs: "
                          f"{'; '.join(left['error'] for left in faceless)}")
    for left in faceless:
        warn(f"{left['error']}; skipped")
    return scans, faceless


def _priority(tracks: list[clusters.TrackSummary], references: np.ndarray | None) -> dict[int, float]:
    """Track id -> how well it fits (lower first) when one face per frame must be chosen."""
    if references is None:
        return {}
    return clusters.distances(tracks, references)


def run(config: ExtractConfig) -> Path:
    """Extract faces from every input into ``config.out``; return the face set manifest's path."""
    return run_extract(config).manifest


def describe(output: ExtractOutput) -> dict[str, int]:
    """Counts of an extraction, for the CLI and benchmarks: frames, faces, kept, tracks, shots, clusters."""
    from swaplab.datasets.manifest import read_manifest

    rows = read_manifest(output.all_faces)
    faces = [r for r in rows if r.has_face]
    frames = {(r.video_id, r.frame_index) for r in rows}
    return {"frames": len(frames), "faces": len(faces), "kept": sum(r.selection != "none" for r in faces),
            "tracks": len({r.track_id for r in faces}), "shots": len({(r.video_id, r.shot_id) for r in rows}),
            "clusters": len({r.cluster_id for r in faces})}

