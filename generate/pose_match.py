"""Draw src's training faces in dst's head turn, so the src decoder learns the poses it must render.

A model trained a few hundred iterations renders src at the poses it saw most often. When dst
turns its head further than src ever did (vr_5 -> lp_s18: src's nose sits -0.11 to +0.03 inter-ocular
distances (IOD) from the eye midpoint, dst's +0.06 to +0.18), the swapped face comes out turned as
src usually is, and every landmark lands beside dst's (README: a constant 0.15 IOD bias). Mirroring
a face mirrors its turn, so src's faces and their mirror images together cover both directions;
weighting them by how often dst turns its head their way puts src's most-turned faces in front of
the decoder far more often.
"""

from __future__ import annotations

import torch

POSE_BANDWIDTH = 0.02  # IOD: how far from a dst face's turn its src candidates may lie
# --match-pose's default: AUTO_SHARE where more than AUTO_TURNED_PAST of dst's faces turn past every src face
# and mirror image, else off. Measured (README): lp_s18 turned past vr_5 in 55 % of its frames and past vr_2
# in 28 %; there 0.5 cut the pose error (0.155 -> 0.117, 0.156 -> 0.093) and, on a machine half as fast
# (330-370 iterations), turned vr_2's eyes from a swirl and a hole in every frame into whole eyes. lp_d12,
# past vr_2 in 7 %, gained nothing from it (0.088 -> 0.096).
AUTO_TURNED_PAST = 0.2
AUTO_SHARE = 0.5
DST_CHUNK = 256  # dst faces weighed at a time


def yaw_offsets(landmarks: torch.Tensor) -> torch.Tensor:
    """Head turn proxy: the nose's offset from the eye midpoint along the eye line, in IOD.

    Parameters
    ----------
    landmarks : (N, 5, 2) eyes, nose, mouth corners (x, y) in any pixel frame

    Returns
    -------
    (N,) float: 0 for a frontal face, positive when the nose sits toward the image's right.
    """
    eyes = landmarks[:, 1] - landmarks[:, 0]
    inter_ocular = eyes.norm(dim=1).clamp_min(1e-6)
    nose = landmarks[:, 2] - landmarks[:, :2].mean(dim=1)
    return (nose * eyes).sum(dim=1) / inter_ocular**2


def matched_draw_weights(src_yaws: torch.Tensor, dst_yaws: torch.Tensor, share: float,
                         bandwidth: float = POSE_BANDWIDTH) -> torch.Tensor:
    """Probabilities of drawing each src face as it is (first N) or mirrored (last N).

    Parameters
    ----------
    src_yaws : (N,) :func:`yaw_offsets` of src's faces (a mirror image has the opposite sign)
    dst_yaws : (M,) those of dst's faces
    share : share of draws by dst's turns (0: every face and mirror image alike, 1: by dst's turns alone)
    bandwidth : width in IOD of the Gaussian that spreads each dst face over the candidates near its turn

    Returns
    -------
    (2N,) float64 summing to 1: ``(1 - share)`` spread evenly; ``share`` split equally among dst's faces,
    each giving its part to the src candidates nearest its turn. A dst face turned further than any
    src face gives its part to the most-turned candidates, not to the many that merely overlap dst.
    """
    if not 0 <= share <= 1:
        raise ValueError(f"pose-match share {share}: must be within 0..1")
    candidates = torch.cat([src_yaws, -src_yaws]).double()
    matched = torch.zeros_like(candidates)
    for chunk in dst_yaws.double().split(DST_CHUNK):  # (2N, chunk) at a time: face sets may be large
        gaps = (candidates[:, None] - chunk[None, :]) / bandwidth
        matched += torch.softmax(-0.5 * gaps**2, dim=0).sum(dim=1)  # each column sums to 1: one dst face
    matched /= len(dst_yaws)
    even = torch.full_like(matched, 1 / len(matched))
    return (1 - share) * even + share * matched


def resolved_share(share: float | None, src_yaws: torch.Tensor, dst_yaws: torch.Tensor) -> float:
    """The pose-match share to train with: ``share`` when given, else (the default) AUTO_SHARE where
    :func:`turned_past_src_share` is above AUTO_TURNED_PAST, 0 where it is not (or cannot be measured)."""
    if share is not None:
        return share
    return AUTO_SHARE if turned_past_src_share(src_yaws, dst_yaws) > AUTO_TURNED_PAST else 0.0


def turned_past_src_share(src_yaws: torch.Tensor, dst_yaws: torch.Tensor) -> float:
    """Share of dst's faces turned further than src turns in any face or its mirror image.

    Parameters
    ----------
    src_yaws : (N,) :func:`yaw_offsets` of src's faces (``quality.json`` takes all of src's face set;
        training draws at most ``TrainConfig.max_faces`` of them, spread evenly)
    dst_yaws : (M,) those of dst's faces

    Returns
    -------
    In 0..1 (NaN without faces). Those frames ask the src decoder for a turn it never saw.
    """
    if len(src_yaws) == 0 or len(dst_yaws) == 0:
        return float("nan")
    return float((dst_yaws.abs() > src_yaws.abs().max()).double().mean())
