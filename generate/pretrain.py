"""Stage ``pretrain``: a generic swap model learnt from the faces of many people (DeepFaceLab's
pretrain mode), to fine-tune per pair with ``generate train --pretrained``.

Both decoders learn the same pool, so after pretraining they know faces in general; a pair then
starts from a model that already draws eyes, teeth and skin and only has to learn two people.
The pool must never hold the pair a model is fine-tuned on: ``pretrained.pt`` records every
identity it saw and ``generate train`` refuses a pair among them.

The decoded pool (face crops as JPEG at one resolution, Face Mesh points, identities and the
manifests it came from) is kept in ``pool.pt``, so a pretraining can run where the crops are not,
e.g. on a GPU machine, from that one file (``--pool``).
"""

from __future__ import annotations

import functools
import hashlib
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from swaplab.core.config import save_config
from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import load_torch_file, require_writable_dir, save_torch_file
from swaplab.datasets.outputs import PretrainOutput
from swaplab.generate import train
from swaplab.generate.faceset import FaceSet, load_faceset
from swaplab.generate.models import PRESETS, ModelSpec, build_model

POOL_FORMAT = 1  # 1 - JPEG crops, landmarks, dense points, identity per face, source manifests
POOL_JPEG_QUALITY = 95


@dataclass(frozen=True)
class PretrainConfig:
    """Settings of ``swaplab generate pretrain``.

    ``faces``: face manifests of many people (each manifest's faces are capped at
    ``per_manifest``, spread evenly over it); or ``pool``: a ``pool.pt`` written by an earlier
    pretraining. Model size, time budget and optimiser settings mean what they mean in
    ``generate train``; the pool is stored at ``pool_resolution`` px. ``pool`` wins over ``faces``;
    a resumed pretraining keeps the pool in its folder (``faces`` are ignored, another ``pool`` refused).
    """

    out: Path
    faces: tuple[Path, ...] = ()
    pool: Path | None = None
    preset: str = "lq"
    iterations: int | None = None
    minutes: float | None = None
    batch_size: int = 32
    learning_rate: float = 2e-4
    per_manifest: int = 300
    pool_resolution: int = 128
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    resume: bool = False

    def train_config(self, pool_path: Path) -> train.TrainConfig:
        """The ``generate train`` settings of the pretraining: both sides draw from the pool."""
        return train.TrainConfig(src=pool_path, dst=pool_path, out=self.out, preset=self.preset,
                                 iterations=self.iterations, minutes=self.minutes, batch_size=self.batch_size,
                                 learning_rate=self.learning_rate, seed=self.seed, device=self.device,
                                 precision=self.precision, resume=self.resume,
                                 checkpoint_every=1000, preview_every=1000)


def manifest_digest(path: Path) -> str:
    """The sha256 of a manifest file: which faces a pool was made of."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build_pool(manifests: tuple[Path, ...], resolution: int, per_manifest: int | None, mesh_cache: Path) -> dict:
    """Decode each manifest's faces (at most ``per_manifest``; None: all) into one pool payload.

    Returns a dict of tensors and lists: ``jpeg`` (total bytes,) uint8 with ``offsets`` (N + 1,),
    ``landmarks`` (N, 5, 2), ``dense`` (N, 478, 2) float16, ``identities`` (sorted names),
    ``face_type``, ``resolution`` and ``manifests`` (path and sha256 of each).
    """
    if not manifests:
        raise SwaplabError("pretraining needs face manifests of many people (--faces) or a --pool")
    # mesh_cache holds {name} (the manifest's position) and {key} (a hash of its crops and the resolution)
    parts = [load_faceset(m, resolution, per_manifest, Path(str(mesh_cache).replace("{name}", f"{i:03d}")))
             for i, m in enumerate(manifests)]
    types = {part.face_type for part in parts}
    if len(types) > 1:
        raise SwaplabError(f"the pool's manifests mix face types {sorted(types)}: extract them alike")
    identities = sorted(train.identity_names(part.identity for part in parts))
    blobs = []
    for part in parts:
        for face in part.faces.permute(0, 2, 3, 1).numpy():
            ok, data = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, POOL_JPEG_QUALITY])
            blobs.append(np.frombuffer(data.tobytes(), np.uint8))
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in blobs])])
    return {"format": POOL_FORMAT, "kind": "swaplab-pool", "resolution": resolution, "face_type": parts[0].face_type,
            "jpeg": torch.from_numpy(np.concatenate(blobs)), "offsets": torch.from_numpy(offsets),
            "landmarks": torch.cat([p.landmarks for p in parts]),
            "dense": torch.cat([p.dense for p in parts]).to(torch.float16),
            "identities": identities,
            "manifests": [{"path": str(m), "sha256": manifest_digest(m), "faces": len(p.faces)}
                          for m, p in zip(manifests, parts, strict=True)]}


def save_pool(pool: dict, target: Path) -> Path:
    """Write a pool payload (:func:`build_pool`) atomically to ``target``."""
    save_torch_file(pool, target)
    return target


def load_pool(path: Path) -> dict:
    """Read a ``pool.pt`` safely (``weights_only=True``) and check its format."""
    pool = load_torch_file(path, "face pool", "no face pool")
    if not isinstance(pool, dict) or pool.get("kind") != "swaplab-pool" or pool.get("format") != POOL_FORMAT:
        raise SwaplabError(f"{path}: not a swaplab face pool of format {POOL_FORMAT}")
    return pool


def pool_faceset(pool: dict, resolution: int) -> FaceSet:
    """The pool as a face set at ``resolution`` (decoded, resized, points scaled)."""
    jpeg, offsets = pool["jpeg"].numpy(), pool["offsets"].tolist()
    faces = []
    for start, end in zip(offsets[:-1], offsets[1:], strict=True):
        face = cv2.imdecode(jpeg[start:end], cv2.IMREAD_COLOR)
        if face.shape[0] != resolution:
            face = cv2.resize(face, (resolution, resolution), interpolation=cv2.INTER_AREA)
        faces.append(face)
    scale = resolution / pool["resolution"]
    return FaceSet(torch.from_numpy(np.stack(faces)).permute(0, 3, 1, 2).contiguous(),
                   pool["landmarks"].float() * scale, pool["face_type"], "+".join(pool["identities"]),
                   pool["dense"].float() * scale)


def provenance(pool: dict, state_log: list, config: PretrainConfig, device: str) -> dict:
    """What a pretrained model saw and how it was made."""
    import swaplab

    return {"identities": list(pool["identities"]), "faces": int(len(pool["offsets"]) - 1),
            "manifests": list(pool["manifests"]), "pool_resolution": int(pool["resolution"]),
            "iterations": int(state_log[-1][0]) if state_log else 0,
            "seconds": float(state_log[-1][1]) if state_log else 0.0,
            "batch_size": config.batch_size, "learning_rate": config.learning_rate, "seed": config.seed,
            "device": device, "torch": str(torch.__version__), "swaplab": getattr(swaplab, "__version__", "unknown"),
            "machine": platform.machine(), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def pool_identity(pool: dict) -> tuple:
    """What makes two pools the same: their identities and the digests of their manifests."""
    return tuple(pool["identities"]), tuple(m["sha256"] for m in pool["manifests"])


def pool_for(config: PretrainConfig, output: PretrainOutput) -> dict:
    """The pool to pretrain on: the folder's own when resuming (another ``--pool`` is refused, so the
    provenance never under-reports what the model saw), else ``--pool``, else built from ``faces``."""
    if output.checkpoint.exists() and not config.resume:
        raise SwaplabError(f"{output.folder}: already holds a model; pass --resume to continue it or choose a new folder")
    if config.resume and output.pool.exists():
        pool = load_pool(output.pool)
        if config.pool is not None and pool_identity(load_pool(Path(config.pool))) != pool_identity(pool):
            raise SwaplabError(f"{config.pool} is not the pool {output.folder} was pretrained on; a model keeps its pool")
        return pool
    if config.pool is not None:
        pool = load_pool(Path(config.pool))
    else:
        pool = build_pool(tuple(Path(m) for m in config.faces), config.pool_resolution, config.per_manifest,
                          output.folder / "mesh_{name}_{key}.npy")
    save_pool(pool, output.pool)
    return pool


def run(config: PretrainConfig, on_step: Callable[[int, dict], None] | None = None) -> PretrainOutput:
    """Pretrain into ``config.out``: build (or read) the pool, train on it, export ``pretrained.pt``."""
    output = PretrainOutput(require_writable_dir(config.out))
    pool = pool_for(config, output)
    train_config = config.train_config(output.pool)
    spec = train_config.spec()
    if spec.resolution > pool["resolution"]:
        raise SwaplabError(f"the pool holds {pool['resolution']} px faces, the {config.preset} model needs "
                           f"{spec.resolution} px: build the pool at --pool-resolution {spec.resolution}")
    faces = pool_faceset(pool, spec.resolution)
    save_config(config, output.config)
    trained = train.fit(train_config, faces, faces, on_step)
    payload = train.load_checkpoint(trained.checkpoint)
    model = build_model(ModelSpec(**payload["spec"]))
    model.load_state_dict(payload["model"])
    train.save_pretrained(model, output.pretrained, provenance(pool, payload["log"], config, payload["meta"]["device"]))
    return output


@functools.cache
def _summary(path: Path) -> tuple[frozenset[str], tuple]:
    payload = train.load_pretrained(path)
    return frozenset(payload["provenance"]["identities"]), tuple(sorted(payload["spec"].items()))


def seen_identities(path: Path) -> frozenset[str]:
    """The identities a ``pretrained.pt`` was pretrained on (from its provenance)."""
    return _summary(Path(path).resolve())[0]


def of_preset(candidates: tuple[Path | str, ...], preset: str) -> tuple[Path, ...]:
    """The candidates (``builtin`` = the shipped model of ``preset``, where one ships) of ``preset``'s
    architecture and size."""
    wanted = tuple(sorted(PRESETS[preset].as_dict().items()))
    paths = []
    for candidate in candidates:
        if str(candidate) == train.BUILTIN:
            try:
                candidate = train.shipped_pretrained(preset)
            except SwaplabError:
                continue
        if _summary(Path(candidate).resolve())[1] == wanted:
            paths.append(Path(candidate))
    return tuple(paths)


def choose_pretrained(candidates: tuple[Path | str, ...], people: set[str], preset: str | None = None) -> Path | None:
    """The first of ``candidates`` (only those of ``preset``'s architecture and size, when given)
    that never saw any of ``people``; None when there is none."""
    for candidate in (of_preset(candidates, preset) if preset is not None else candidates):
        if not seen_identities(Path(candidate)) & set(people):
            return Path(candidate)
    return None
