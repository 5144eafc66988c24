"""``generate run --preset auto``: the model tier chosen from dst's face size and the training time.

A model renders the face at its resolution (64 px at lq, 128 px at hq) and the paste enlarges it to
the face's size in dst's frames. The more it is enlarged, the softer it gets: a perfect 64 px face
enlarged 6x into a close-up keeps 0.16 of the original's sharpness, a perfect 128 px face at 3x 0.32
(README, "The resolution ceiling"). hq trains about a quarter as many faces a second as lq (7.7 against
29 in bf16 on this project's CPU), so auto chooses it only where it has the time to train:

1. a run that resumes a model keeps that model's tier; a ``--pretrained`` file gives its own tier;
2. lq where lq enlarges dst's face at most ``HQ_FROM_ENLARGEMENT`` times;
3. lq where the training length is the user's count (``--iterations``, or no ``--minutes``), where no
   pretrained model is given (minutes of CPU training from scratch make no face at either tier), or where
   the time budget leaves hq fewer than ``HQ_MIN_ITERATIONS`` at this hardware's measured rate
   (``HQ_ITERATIONS_PER_MINUTE``: on a 2-core CPU without AVX-512 that takes about 11 hours of training, with
   AVX512-BF16 about 4, on a GPU minutes);
4. hq otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from swaplab.core.config import build_config
from swaplab.core.errors import SwaplabError
from swaplab.datasets.manifest import FaceRecord
from swaplab.datasets.outputs import TrainOutput
from swaplab.generate import train
from swaplab.generate.blend import upscale_of
from swaplab.generate.models import PRESETS

AUTO = "auto"

# lq's median enlargement above which hq may be chosen: a face wider than 192 px in dst's frames (the
# whole_face crop's side). hq then still enlarges it at least 1.5x, where dst's own detail (--detail)
# starts to act.
HQ_FROM_ENLARGEMENT = 3.0

# The one hq length measured to draw a face about as good as lq's (README, "hq against lq at equal compute"). On
# vr_2 -> lp_s18 from the shipped models (batch 8, fp32, no identity loss; trained on a lent GPU, swapped here),
# hq at 600 iterations took the training time of lq at 2400 on this project's CPU and lost: dlib-ResNet accepted
# 0.07 of its frames against 1.00, sharpness 0.75 against 0.87, a blurrier face. On vr_2 -> lp_d12, hq at 6000
# iterations was about as good as lq at 8000, in about equal GPU time (dlib 0.97 / 0.95, FaceNet 0.93 / 0.97,
# sharpness 0.39 / 0.37). Lengths between 600 and 6000 were not measured. With fewer, auto keeps lq.
HQ_MIN_ITERATIONS = 6000

# hq training iterations a minute in `generate run` (batch 8 a side), by device and precision, as measured:
HQ_ITERATIONS_PER_MINUTE = {
    "cpu-fp32": 9.1,   # 2-core AMD EPYC without AVX-512, identity loss on: 221 iterations in 24.2 min (lp_s18)
    "cpu-bf16": 24.3,  # 2-core AMD EPYC with AVX512-BF16, identity loss on: 621 in 25.5 min (lp_d12)
    "cuda": 1750.0,    # H100, bf16 (benchmarks/gpu_train.py: 467 faces/s over both sides), identity loss off
}


@dataclass(frozen=True)
class TierChoice:
    """The preset a ``generate run`` trains, and why.

    ``enlargement``: the median factor by which lq's 64 px face is enlarged into dst's frames (None when
    the preset was given); ``hq_training_minutes``: what the time budget leaves hq for training (None
    without ``--minutes``); ``reason``: the rule that decided, in words.
    """

    preset: str
    enlargement: float | None
    hq_training_minutes: float | None
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def lq_enlargement(dst_rows: list[FaceRecord]) -> float:
    """Median frame pixels per pixel of lq's face over the faces of ``dst_rows`` (the face's side / 64).

    Each face's side in the frame is its crop size times the frame pixels per crop pixel of its (2, 3)
    frame->crop matrix.
    """
    sides = [row.crop_size * upscale_of(row.matrix_array) for row in dst_rows if row.has_face]
    if not sides:
        raise SwaplabError("dst has no face to size the model tier by")
    return float(np.median(sides)) / PRESETS["lq"].resolution


def preset_of(spec: dict, source: Path) -> str:
    """The preset whose architecture and sizes are ``spec`` (a model's or pretrained model's)."""
    for name, preset in PRESETS.items():
        if preset.as_dict() == spec:
            return name
    raise SwaplabError(f"{source}: a {spec} model matches no preset ({', '.join(PRESETS)}); give --preset")


def resumed_preset(model_dir: Path) -> str | None:
    """The preset of the checkpoint a run would resume in ``model_dir``, or None. Its spec comes from its
    ``train_config.json`` (``TrainConfig.spec``), or from the checkpoint itself where that file is missing (an
    hq checkpoint with its optimiser is about 240 MB)."""
    output = TrainOutput(Path(model_dir))
    if not output.checkpoint.exists():
        return None
    if output.config.exists():
        spec = build_config(train.TrainConfig, output.config).spec().as_dict()
    else:
        spec = train.load_checkpoint(output.checkpoint)["spec"]
    return preset_of(spec, output.checkpoint)


def pretrained_preset(pretrained: Path | str | None) -> str | None:
    """The preset of a ``--pretrained`` file; None for none or ``builtin`` (which follows the tier)."""
    if pretrained is None or str(pretrained) == train.BUILTIN:
        return None
    return preset_of(train.load_pretrained(Path(pretrained))["spec"], Path(pretrained))


def hardware(device: torch.device, precision: str) -> str:
    """The key of ``HQ_ITERATIONS_PER_MINUTE`` for a device and the precision training resolves to there."""
    return "cuda" if device.type == "cuda" else f"cpu-{precision}"


def choose_tier(dst_rows: list[FaceRecord], *, hq_training_minutes: float | None, iterations: int | None,
                pretrained: Path | str | None, model_dir: Path, hardware: str = "cpu-fp32") -> TierChoice:
    """lq or hq for ``generate run --preset auto`` (the rules are in the module docstring).

    Parameters
    ----------
    dst_rows : the face rows of the dst video that receives the face
    hq_training_minutes : what the time budget leaves for training at hq (None: no ``--minutes``)
    iterations : the user's iteration cap (None: none given)
    pretrained : ``--pretrained`` (a path, ``builtin`` or None)
    model_dir : where a model to resume would be
    hardware : a key of ``HQ_ITERATIONS_PER_MINUTE`` (see :func:`hardware`)
    """
    enlargement = lq_enlargement(dst_rows)
    size = f"lq enlarges dst's face {enlargement:.1f}x"

    def chose(preset: str, why: str) -> TierChoice:
        return TierChoice(preset, enlargement, hq_training_minutes, f"{size}; {why}")

    resumed = resumed_preset(model_dir)
    if resumed is not None:
        return chose(resumed, f"resumes the {resumed} model in {model_dir}")
    given = pretrained_preset(pretrained)
    if given is not None:
        return chose(given, f"the pretrained model {pretrained} is {given}")
    if enlargement <= HQ_FROM_ENLARGEMENT:
        return chose("lq", f"hq from {HQ_FROM_ENLARGEMENT:g}x")
    if iterations is not None or hq_training_minutes is None:
        return chose("lq", "the iteration count is the user's (no --minutes, or --iterations): kept at lq's cost")
    if pretrained is None:
        return chose("lq", "hq only from a pretrained model (--pretrained builtin)")
    expected = max(0.0, hq_training_minutes) * HQ_ITERATIONS_PER_MINUTE[hardware]
    budget = (f"--minutes leaves hq {hq_training_minutes:.1f} min of training, about {expected:.0f} iterations "
              f"on {hardware}" if hq_training_minutes > 0 else "--minutes leaves no time to train hq")
    if expected < HQ_MIN_ITERATIONS:
        return chose("lq", f"{budget}, under the {HQ_MIN_ITERATIONS} hq needs")
    return chose("hq", budget)
