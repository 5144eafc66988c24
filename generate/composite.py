"""Compositing: the swapped frames become a video with dst's audio, labelled synthetic.

Every generated video carries, in its container metadata, ``comment`` and
``description`` saying it is synthetic, plus ``swaplab_synthetic = true`` and
the generator run id; a JSON sidecar records how it was made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from swaplab.core.fileio import write_json_atomic
from swaplab.core.media import probe, write_video
from swaplab.core.provenance import library_versions
from swaplab.datasets.outputs import SwapOutput

SYNTHETIC_NOTE = "SYNTHETIC MEDIA: face-swapped deepfake made by swaplab for forgery research"


@dataclass(frozen=True)
class Provenance:
    """What the sidecar records about one generated video."""

    generator_run: str
    config: Any
    checkpoint_sha256: str
    inputs: dict[str, str]
    model_meta: dict = field(default_factory=dict)
    code_sha256: str = ""


def synthetic_metadata(generator_run: str) -> dict[str, str]:
    """Container tags that mark a video as synthetic."""
    return {"comment": SYNTHETIC_NOTE, "description": SYNTHETIC_NOTE, "swaplab_synthetic": "true",
            "swaplab_generator_run": generator_run}


def write_composite(frames: Iterable[np.ndarray], dst: Path, output: SwapOutput, provenance: Provenance) -> Path:
    """Encode ``frames`` at dst's fps with dst's audio into ``output.video``; write ``output.provenance``."""
    target = output.video
    info = probe(dst)
    write_video(frames, target, fps=info.fps, audio_from=dst, metadata=synthetic_metadata(provenance.generator_run))
    sidecar = {"synthetic": True, "note": SYNTHETIC_NOTE, "generator_run": provenance.generator_run,
               "video": target.name, "config": dataclasses.asdict(provenance.config),
               "checkpoint_sha256": provenance.checkpoint_sha256, "inputs_sha256": provenance.inputs,
               "code_sha256": provenance.code_sha256,
               "model": provenance.model_meta, "libraries": library_versions()}
    write_json_atomic(output.provenance, sidecar)
    return target
