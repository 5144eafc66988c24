"""``swaplab study build``: from indexed genuine videos to a tiered deepfake set.

Each identity's first video (by path) trains the models; its other videos
are held out and swapped. For each pair (look-alikes by FaceNet, or a pairs
file) and tier, one model learns both people (the shared encoder serves both
directions) and swaps both people's held-out videos. A finished job leaves
``DONE`` and is not redone, so an interrupted build resumes where it stopped.
Jobs run in local processes (``--workers``) or on Ray (``--executor ray``),
so the same command scales from a laptop to a cluster.
"""

from __future__ import annotations

import json
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from swaplab.core.config import save_config
from swaplab.datasets.manifest import read_manifest, write_manifest
from swaplab.datasets.video_index import VideoRecord, read_index
from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import require_writable_dir, write_json_atomic
from swaplab.faces import extract
from swaplab.generate import swap
from swaplab.generate.pipeline import swap_measured, train_or_resume
from swaplab.core.progress import make_progress
from swaplab.study.pairs import lookalike_pairs, read_pairs

BUILD_FILE = "study.json"
EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class BuildConfig:
    """Settings of ``swaplab study build``; ``minutes`` / ``iterations`` bound each model's training."""

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


@dataclass(frozen=True)
class Job:
    """One model: a pair of people at one tier, and the held-out videos it swaps."""

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


def genuine_videos(records: list[VideoRecord], root: Path) -> dict[str, list[Path]]:
    """identity -> its real videos (sorted); each needs one to train on and one to swap."""
    videos: dict[str, list[Path]] = defaultdict(list)
    for record in records:
        if record.label == "real":
            videos[record.identity].append(root / record.path)
    lonely = sorted(i for i, v in videos.items() if len(v) < 2)
    if lonely:
        raise SwaplabError(f"identities {lonely} have one real video only: each needs a training and a held-out video")
    return {identity: sorted(paths) for identity, paths in sorted(videos.items())}


def extract_all(videos: dict[str, list[Path]], out: Path, device: str) -> dict[str, list[Path]]:
    """identity -> one face manifest per video (skipped when already there)."""
    manifests: dict[str, list[Path]] = {}
    for identity, paths in videos.items():
        manifests[identity] = []
        for video in paths:
            folder = out / "faces" / identity / video.stem
            manifest = folder / extract.MANIFEST_NAME
            if not manifest.exists():
                extract.run(extract.ExtractConfig(inputs=(video,), out=folder, identity=identity, device=device))
            manifests[identity].append(manifest)
    return manifests


def templates(manifests: dict[str, list[Path]], device: str) -> dict[str, np.ndarray]:
    """FaceNet template (mean embedding of every 5th face of the training video) per identity."""
    from swaplab.faces.backends import FR_BACKENDS, mean_template
    from swaplab.faces.embed import embed_records, manifest_faces

    backend = FR_BACKENDS.get("facenet", device=device)
    return {identity: mean_template(embed_records(backend, manifest_faces(paths[0], step=5)))
            for identity, paths in manifests.items()}


def plan_jobs(config: BuildConfig, videos: dict[str, list[Path]], manifests: dict[str, list[Path]],
              pairs: list[tuple[str, str]]) -> list[Job]:
    return [Job(src, dst, tier, str(manifests[src][0]), str(manifests[dst][0]),
                tuple(map(str, videos[src][1:])), tuple(map(str, videos[dst][1:])),
                str(config.out / "fakes" / tier / f"{src}__{dst}"), config.minutes, config.iterations,
                config.seed, config.device)
            for tier in config.tiers for src, dst in pairs]


def run_job(job: Job) -> list[str]:
    """Train the pair's model and swap both people's held-out videos; returns the fake manifests."""
    folder = Path(job.folder)
    if (folder / "DONE").exists():
        return json.loads((folder / "DONE").read_text())
    model = folder / "model"
    train_or_resume(Path(job.src_faces), Path(job.dst_faces), model, preset=job.tier, iterations=job.iterations,
                    minutes=job.minutes, seed=job.seed, device=job.device)
    manifests = []
    for into, videos, pasted in (("src", job.dst_videos, job.src_faces), ("dst", job.src_videos, job.dst_faces)):
        for video in map(Path, videos):
            config = swap.SwapConfig(model=model, dst=video, out=folder / f"{into}_into_{video.stem}", into=into,
                                     device=job.device)
            manifests.append(str(swap_measured(config, Path(pasted))))
    write_json_atomic(folder / "DONE", manifests)
    return manifests


def _run_local(jobs: list[Job], workers: int) -> list[list[str]]:
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


def _run_ray(jobs: list[Job]) -> list[list[str]]:
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


def run(config: BuildConfig) -> Path:
    """Build (or finish) the deepfake set; return ``study.json`` (genuine and fake manifests by tier)."""
    if config.executor not in EXECUTORS:
        raise SwaplabError(f"unknown executor {config.executor!r}; choose one of {EXECUTORS}")
    out = require_writable_dir(config.out)
    root, records = read_index(config.index)
    videos = genuine_videos(records, root)
    manifests = extract_all(videos, out, config.device)
    pairs = (read_pairs(config.pairs, set(videos)) if config.pairs
             else lookalike_pairs(templates(manifests, config.device)))
    save_config(config, out / "study_build_config.json")
    jobs = plan_jobs(config, videos, manifests, pairs)
    results = _run_ray(jobs) if config.executor == "ray" else _run_local(jobs, config.workers)
    fakes: dict[str, list[str]] = defaultdict(list)
    for job, made in zip(jobs, results, strict=True):
        fakes[job.tier] += made
    genuine = [str(_merge(paths, out / "faces" / identity / "faces.csv")) for identity, paths in manifests.items()]
    target = out / BUILD_FILE
    write_json_atomic(target, {"genuine": genuine, "fakes": dict(fakes), "pairs": pairs,
                               "jobs": [asdict(job) for job in jobs]})
    return target


def _merge(manifests: list[Path], target: Path) -> Path:
    """One manifest for an identity's videos, crop paths rebased onto ``target``'s folder."""
    from dataclasses import replace

    rows = []
    for manifest in manifests:
        prefix = manifest.parent.relative_to(target.parent).as_posix()
        rows += [replace(r, crop_path=f"{prefix}/{r.crop_path}" if r.crop_path else "") for r in read_manifest(manifest)]
    return write_manifest(rows, target)
