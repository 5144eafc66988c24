"""``swaplab study build``: from indexed genuine videos to a tiered deepfake set.

Every person's real segments (``swaplab datasets index --segment-seconds``; or whole videos, three
or more per person) have a role, and no frame serves two roles:

enrol   builds the person's FR template (``study run``); never seen by the generator
train   trains the generator (the attacker's material); also picks look-alike pairs
probe   genuine probes, and the videos that are swapped (the attacks)

For each pair (look-alikes by FaceNet on the training faces, or a pairs file) and tier, one
model learns both people from their training segments and swaps both people's probe segments.
Real probes and fakes go through one chain (``study.segments``): probe segment cut once, then
the composite's writer (the swap, or a plain re-encode for the real probe), then face detection
at the same extraction settings in the resulting video. A swap that left the face as it was
(``face_change`` below ``failed_change``, or FaceNet similarity to the probe of at least
``failed_similarity``, or no face found in it) is a failed swap: kept on disk, counted in
``study.json``, left out of the attack set. A finished job leaves ``DONE`` and is not redone.
Jobs run in local processes (``--workers``) or on Ray (``--executor ray``).
"""

from __future__ import annotations

import json
import math
import shutil
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from swaplab.core.config import save_config
from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import require_writable_dir, sha256_of, write_json_atomic
from swaplab.core.progress import make_progress
from swaplab.datasets.layouts import assign_roles
from swaplab.datasets.manifest import read_manifest, write_manifest
from swaplab.datasets.outputs import DONE_MARKER, StudyBuildOutput, StudyOutput, SwapJobOutput
from swaplab.datasets.study_record import SegmentUse, StudyRecord, SwapResult
from swaplab.datasets.video_index import VideoRecord, read_index
from swaplab.faces import extract
from swaplab.generate import swap
from swaplab.generate.models import PRESETS
from swaplab.generate.pretrain import choose_pretrained, of_preset
from swaplab.generate.train import identity_names
from swaplab.generate.pipeline import swap_measured, train_or_resume
from swaplab.study import segments
from swaplab.study.pairs import lookalike_pairs, read_pairs

EXECUTORS = ("local", "ray")
# One extraction setting for every face of the study: enrolment, training, real probes and fakes. Any face
# MTCNN finds counts (min_face_score 0): a fake's blurred face is an attack FR and the detectors must meet,
# not a face to leave out.
EXTRACTION = {"crop_size": 256, "face_type": "whole_face", "detect_every": 4, "smooth": 0, "min_face_score": 0.0}
ROLES = {"enrol": "first segment of each person: FR enrolment template only",
         "train": "generator training and look-alike pairing only",
         "probe": "genuine probes, and the segments swapped into attacks"}


@dataclass(frozen=True)
class BuildConfig:
    """Settings of ``swaplab study build``; ``minutes`` / ``iterations`` bound each model's training;
    ``max_probes`` caps the probe segments used per person (the first ones; ``None``: all)."""

    index: Path
    out: Path
    tiers: tuple[str, ...] = ("lq", "hq")
    pairs: Path | None = None
    minutes: float | None = 5.0
    iterations: int = 1_000_000
    executor: str = "local"
    workers: int = 1
    seed: int = 0
    device: str = "auto"
    max_probes: int | None = None
    failed_change: float = 2.0
    failed_similarity: float = 0.98
    pretrained: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Job:
    """One model: a pair of people at one tier, and the probe segments (cut files) it swaps."""

    src: str
    dst: str
    tier: str
    src_faces: str
    dst_faces: str
    src_videos: tuple[str, ...]
    dst_videos: tuple[str, ...]
    folder: str
    minutes: float | None
    iterations: int
    seed: int
    device: str
    failed_change: float = 2.0
    failed_similarity: float = 0.98
    pretrained: str | None = None


@dataclass(frozen=True)
class Prepared:
    """Faces and files of the real segments: per identity its enrolment and training manifests and
    probe cuts; the real-probe manifests; what each segment was used for."""

    enrolment: dict[str, Path]
    training: dict[str, Path]
    probe_cuts: dict[str, list[Path]]
    real_probes: list[Path]
    uses: list[SegmentUse]


def study_rows(records: list[VideoRecord]) -> dict[str, list[VideoRecord]]:
    """identity -> its real rows with roles (assigned over whole videos when the index has none)."""
    real = [r for r in records if r.label == "real"]
    if real and not any(r.role for r in real):
        real = assign_roles(real)
    by_identity: dict[str, list[VideoRecord]] = defaultdict(list)
    for record in real:
        by_identity[record.identity].append(record)
    for identity, rows in by_identity.items():
        missing = [role for role in ROLES if role not in {r.role for r in rows}]
        if missing:
            raise SwaplabError(f"{identity}: no {' or '.join(missing)} segment; index with --segment-seconds")
    return dict(sorted(by_identity.items()))


def extract_sources(rows: dict[str, list[VideoRecord]], root: Path, out: StudyOutput, device: str) -> dict[str, Path]:
    """Video path in the index -> manifest of the whole video (extracted once, skipped when there)."""
    manifests = {}
    for identity, records in rows.items():
        for path in dict.fromkeys(r.path for r in records if r.role in ("enrol", "train")):
            target = out.source_faces(identity, Path(path).stem)
            if not target.manifest.exists():
                extract.run(extract.ExtractConfig(inputs=(root / path,), out=target.folder, identity=identity,
                                                  device=device, **EXTRACTION))
            manifests[path] = target.manifest
    return manifests


def _use(record: VideoRecord, manifest: Path) -> SegmentUse:
    return SegmentUse(record.identity, record.path, record.segment, record.start, record.end, record.role,
                      segments.segment_name(record), str(manifest))


def prepare(rows: dict[str, list[VideoRecord]], root: Path, out: StudyOutput, config: BuildConfig) -> Prepared:
    """Enrolment and training manifests from the whole videos' faces; probe segments cut, re-encoded
    like a composite and extracted."""
    sources = extract_sources(rows, root, out, config.device)
    prepared = Prepared({}, {}, {}, [], [])
    for identity, records in rows.items():
        enrol = next(r for r in records if r.role == "enrol")
        target = out.segment_manifest(identity, segments.segment_name(enrol))
        prepared.enrolment[identity] = segments.segment_manifest(sources, [(enrol, segments.segment_name(enrol))],
                                                                 target)
        training = [r for r in records if r.role == "train"]
        prepared.training[identity] = segments.segment_manifest(
            sources, [(r, segments.segment_name(r)) for r in training], out.segment_manifest(identity, "train"))
        prepared.uses.append(_use(enrol, prepared.enrolment[identity]))
        prepared.uses.extend(_use(r, prepared.training[identity]) for r in training)
        probes = [r for r in records if r.role == "probe"][:config.max_probes]
        prepared.probe_cuts[identity] = []
        for record in probes:
            cut, manifest = real_probe(record, root, out, config.device)
            prepared.probe_cuts[identity].append(cut)
            prepared.real_probes.append(manifest)
            prepared.uses.append(_use(record, manifest))
    return prepared


def real_probe(record: VideoRecord, root: Path, out: StudyOutput, device: str) -> tuple[Path, Path]:
    """Cut the probe segment (the swap's input), re-encode it as a composite is written, extract its
    faces; returns (cut, real-probe manifest)."""
    name = segments.segment_name(record)
    cut = segments.cut_segment(root / record.path, record, out.probe_cut(record.identity, name))
    video = segments.reencode_like_composite(cut, out.real_probe(record.identity, name))
    faces = out.real_probe_faces(record.identity, name)
    if not faces.manifest.exists():
        extract.run(extract.ExtractConfig(inputs=(video,), out=faces.folder, identity=record.identity, device=device,
                                          **EXTRACTION))
    return cut, faces.manifest


def templates(training: dict[str, Path], device: str) -> dict[str, np.ndarray]:
    """FaceNet template (mean embedding of every 5th training face) per identity."""
    from swaplab.faces.backends import FR_BACKENDS, mean_template
    from swaplab.faces.embed import embed_records, manifest_faces

    backend = FR_BACKENDS.get("facenet", device=device)
    return {identity: mean_template(embed_records(backend, manifest_faces(path, step=5)))
            for identity, path in training.items()}


def check_tiers(config: BuildConfig) -> None:
    """Known tiers, and with ``--pretrained`` at least one model of one of them."""
    unknown = [tier for tier in config.tiers if tier not in PRESETS]
    if unknown:
        raise SwaplabError(f"unknown tier {', '.join(unknown)}; choose among {', '.join(PRESETS)}")
    if config.pretrained and not any(of_preset(config.pretrained, tier) for tier in config.tiers):
        raise SwaplabError(f"none of the --pretrained models is of tier {', '.join(config.tiers)}")


def pretrained_rule(config: BuildConfig) -> Callable[[str, str], bool] | None:
    """With ``--pretrained`` models: a pair is allowed when, at every tier that has pretrained models,
    one of them never saw either person (a tier without one trains from scratch)."""
    if not config.pretrained:
        return None
    tiers = [tier for tier in config.tiers if of_preset(config.pretrained, tier)]
    return lambda a, b: all(choose_pretrained(config.pretrained, identity_names((a, b)), tier) is not None
                             for tier in tiers)


def job_pretrained(config: BuildConfig, tier: str, src: str, dst: str) -> str | None:
    """The pretrained model a pair starts from at ``tier`` (None: from scratch, when no ``--pretrained``
    model is of that tier)."""
    if not of_preset(config.pretrained, tier):
        return None
    chosen = choose_pretrained(config.pretrained, identity_names((src, dst)), tier)
    if chosen is None:
        raise SwaplabError(f"no --pretrained {tier} model that never saw {src} and {dst}")
    return str(chosen)


def plan_jobs(config: BuildConfig, prepared: Prepared, pairs: list[tuple[str, str]]) -> list[Job]:
    out = StudyOutput(config.out)
    return [Job(src, dst, tier, str(prepared.training[src]), str(prepared.training[dst]),
                tuple(map(str, prepared.probe_cuts[src])), tuple(map(str, prepared.probe_cuts[dst])),
                str(out.job(tier, src, dst)), config.minutes, config.iterations, config.seed, config.device,
                config.failed_change, config.failed_similarity, job_pretrained(config, tier, src, dst))
            for tier in config.tiers for src, dst in pairs]


def extracted_from(video: Path, manifest: Path) -> bool:
    """Whether every row of a face manifest came from this very video (its sha256), not from one it replaced."""
    rows, digest = read_manifest(manifest), sha256_of(video)
    return bool(rows) and all(row.source_sha256 == digest for row in rows)


def attack_manifest(video: Path, out: SwapJobOutput, claimed: str, filmed: str, device: str) -> Path | None:
    """Detect the face in the fake (as in real probes) and label the rows fake; ``None`` when no face. Faces
    detected in an earlier fake at the same place (swapped again since, with other settings) are detected anew."""
    target = out.attack_faces.manifest
    if target.exists() and not extracted_from(video, target):
        shutil.rmtree(out.attack_faces.folder)
    if not target.exists():
        try:
            extract.run(extract.ExtractConfig(inputs=(video,), out=out.attack_faces.folder, identity=claimed,
                                              device=device, **EXTRACTION))
        except SwaplabError:
            return None
    run = next((r.generator_run for r in read_manifest(out.swap.fakes.manifest) if r.generator_run), "")
    rows = [replace(r, label="fake", identity=claimed, source_identity=filmed, generator_run=run)
            for r in read_manifest(target)]
    return write_manifest(rows, target)


def failure(change: float, similarity: float, job: Job) -> str:
    """Why a swap counts as failed ('' when it does not)."""
    if change < job.failed_change:
        return f"face_change {change:.2f} < {job.failed_change}: the face was left as it was"
    if not math.isnan(similarity) and similarity >= job.failed_similarity:
        return f"similarity_to_dst {similarity:.3f} >= {job.failed_similarity}: still the filmed person"
    return ""


def swap_probe(job: Job, into: str, cut: Path, pasted: Path) -> SwapResult:
    """Swap one probe segment, detect the face in the fake, flag a failed swap."""
    folder = Path(job.folder) / f"{into}_into_{cut.stem}"
    out = SwapJobOutput(folder, cut.stem)
    swap_measured(swap.SwapConfig(model=Path(job.folder) / "model", dst=cut, out=folder, into=into,
                                  src_faces=(pasted,), device=job.device), pasted)
    claimed, filmed = (job.src, job.dst) if into == "src" else (job.dst, job.src)
    change = segments.face_change(out.swap.video, cut, out.swap.dst_faces.manifest)
    similarity = float(json.loads(out.swap.quality.read_text()).get("similarity_to_dst", float("nan")))
    manifest = attack_manifest(out.swap.video, out, claimed, filmed, job.device)
    reason = failure(change, similarity, job) if manifest else "no face detected in the fake"
    run = read_manifest(manifest)[0].generator_run if manifest else ""
    return SwapResult(job.tier, claimed, filmed, cut.stem, str(out.swap.video), str(manifest or ""), change,
                      similarity, bool(reason), reason, run, job.pretrained or "")


def run_job(job: Job) -> list[dict]:
    """Train the pair's model on their training segments and swap both people's probe segments."""
    done = Path(job.folder) / DONE_MARKER
    if done.exists():
        return json.loads(done.read_text())
    train_or_resume(Path(job.src_faces), Path(job.dst_faces), Path(job.folder) / "model", preset=job.tier,
                    iterations=job.iterations, minutes=job.minutes, seed=job.seed, device=job.device,
                    pretrained=Path(job.pretrained) if job.pretrained else None)
    results = [swap_probe(job, "src", Path(video), Path(job.src_faces)) for video in job.dst_videos]
    results += [swap_probe(job, "dst", Path(video), Path(job.dst_faces)) for video in job.src_videos]
    found = [asdict(result) for result in results]
    write_json_atomic(done, found)
    return found


def _run_local(jobs: list[Job], workers: int) -> list[list[dict]]:
    with make_progress() as progress:
        task = progress.add_task("study build (models)", total=len(jobs))
        if workers <= 1:
            results = []
            for job in jobs:
                results.append(run_job(job))
                progress.advance(task)
            return results
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                 initializer=_limit_threads, initargs=(max(1, 2 // workers),)) as pool:
            futures = [pool.submit(run_job, job) for job in jobs]
            results = []
            for future in futures:
                results.append(future.result())
                progress.advance(task)
            return results


def _limit_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _run_ray(jobs: list[Job]) -> list[list[dict]]:
    try:
        import ray
    except ImportError:
        raise SwaplabError("--executor ray needs Ray: pip install 'ray[default]'") from None
    ray.init(ignore_reinit_error=True)
    remote = ray.remote(num_cpus=1)(run_job)
    refs = [remote.remote(job) for job in jobs]
    pending = list(refs)
    with make_progress() as progress:
        task = progress.add_task("study build (models, ray)", total=len(jobs))
        while pending:
            _, pending = ray.wait(pending, num_returns=1)
            progress.advance(task)
    return [ray.get(ref) for ref in refs]  # in job order


def chains() -> dict[str, tuple[str, ...]]:
    """The processing each kind of face went through, for ``study.json``."""
    settings = ", ".join(f"{k}={v}" for k, v in EXTRACTION.items())
    encode = f"core.media.write_video H.264 crf={segments.WRITER_CRF}"
    cut = f"decode source, keep frames with timestamp in [start, end), {encode}, no audio (segment cut)"
    return {
        "enrolment": ("source video (as published)", f"extract whole video ({settings})",
                      "rows with timestamp in the enrol segment"),
        "generator_training": ("source video (as published)", f"extract whole video ({settings})",
                               "rows with timestamp in the train segments"),
        "real_probe": ("source video (as published)", cut,
                       f"decode, {encode} at the cut's fps with its audio (as generate.composite writes a swap)",
                       f"extract: MTCNN detection in the re-encoded video ({settings})"),
        "fake": ("source video (as published)", cut,
                 f"decode, swap, generate.composite: {encode} at the cut's fps with its audio",
                 f"extract: MTCNN detection in the fake video ({settings})"),
    }


def failed_rule(config: BuildConfig) -> str:
    return (f"a swap is failed (left out of the attack set, counted) when face_change (mean |fake - probe| in the "
            f"probe's face boxes, 0-255) < {config.failed_change}, or FaceNet similarity_to_dst (quality.json) >= "
            f"{config.failed_similarity}, or no face is detected in the fake")


def written(out: StudyOutput, prepared: Prepared, jobs: list[Job], record: StudyRecord) -> StudyBuildOutput:
    """The typed record of what the build wrote (``study.json`` itself at ``out.record``)."""
    swapped: dict[str, list[Path]] = defaultdict(list)
    for result in record.swaps:
        swapped[result.tier].append(Path(result.video))
    return StudyBuildOutput(
        study=out, enrolment=dict(prepared.enrolment), training=dict(prepared.training),
        probe_cuts={identity: tuple(cuts) for identity, cuts in prepared.probe_cuts.items()},
        real_probes=tuple(prepared.real_probes), jobs=tuple(Path(job.folder) for job in jobs),
        swapped={tier: tuple(videos) for tier, videos in sorted(swapped.items())},
        fakes={tier: tuple(map(Path, paths)) for tier, paths in record.fakes.items()},
        failed=tuple(Path(result.video) for result in record.failed))


def run(config: BuildConfig) -> StudyBuildOutput:
    """Build (or finish) the deepfake set; write ``study.json`` (a :class:`StudyRecord`) and return
    the typed record of everything the build wrote."""
    if config.executor not in EXECUTORS:
        raise SwaplabError(f"unknown executor {config.executor!r}; choose one of {EXECUTORS}")
    check_tiers(config)
    out = StudyOutput(require_writable_dir(config.out))
    root, records = read_index(config.index)
    rows = study_rows(records)
    given_pairs = read_pairs(config.pairs, set(rows)) if config.pairs else None
    for src, dst in given_pairs or ():  # before minutes of extraction
        for tier in config.tiers:
            job_pretrained(config, tier, src, dst)
    prepared = prepare(rows, root, out, config)
    pairs = given_pairs or lookalike_pairs(templates(prepared.training, config.device), allowed=pretrained_rule(config))
    save_config(config, out.build_config)
    jobs = plan_jobs(config, prepared, pairs)
    results = _run_ray(jobs) if config.executor == "ray" else _run_local(jobs, config.workers)
    swaps = tuple(SwapResult(**found) for made in results for found in made)
    fakes: dict[str, list[str]] = defaultdict(list)
    for result in swaps:
        if not result.failed:
            fakes[result.tier].append(result.manifest)
    record = StudyRecord(enrolment=tuple(str(prepared.enrolment[i]) for i in rows),
                         real_probes=tuple(map(str, prepared.real_probes)),
                         fakes={tier: tuple(paths) for tier, paths in sorted(fakes.items())}, swaps=swaps,
                         segments=tuple(prepared.uses), pairs=tuple(pairs), chains=chains(),
                         failed_rule=failed_rule(config), roles=ROLES)
    record.to_file(out.record)
    return written(out, prepared, jobs, record)
