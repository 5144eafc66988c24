"""Pose-matched drawing of src's training faces: head-turn proxy, draw weights, the batches they make."""

import math

import pytest
import torch

from swaplab.generate.faceset import FaceSet
from swaplab.generate.pose_match import matched_draw_weights, resolved_share, turned_past_src_share, yaw_offsets
from swaplab.generate.train import Batcher, TrainConfig, TrainState, pose_share

FRONTAL = torch.tensor([[20.0, 24], [44, 24], [32, 36], [23, 46], [41, 46]])  # eyes 24 px apart


def _turned(yaw: float) -> torch.Tensor:
    points = FRONTAL.clone()
    points[2, 0] += yaw * 24
    return points


def _mirrored(points: torch.Tensor, width: float = 64) -> torch.Tensor:
    flipped = points.clone()
    flipped[:, 0] = width - flipped[:, 0]
    return flipped[[1, 0, 2, 4, 3]]  # left and right swap names


def test_turn_proxy_is_the_noses_offset_in_inter_ocular_distances():
    assert yaw_offsets(FRONTAL[None]).item() == pytest.approx(0)
    assert yaw_offsets(_turned(0.1)[None]).item() == pytest.approx(0.1)
    angle = math.radians(30)
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    assert yaw_offsets((_turned(0.1) @ rotation.T * 1.7 + 5)[None]).item() == pytest.approx(0.1, abs=1e-5)
    assert yaw_offsets(_mirrored(_turned(0.1))[None]).item() == pytest.approx(-0.1)


def test_dst_turned_past_src_draws_srcs_most_turned_mirror_images():
    src = torch.tensor([-0.11, -0.06, -0.05, -0.04, 0.0, 0.03])
    dst = torch.full((50,), 0.15)
    weights = matched_draw_weights(src, dst, share=1.0)
    assert weights.sum().item() == pytest.approx(1)
    assert weights.argmax().item() == len(src) + 0  # the mirror image of the -0.11 face: +0.11
    assert weights[len(src)].item() > 0.9
    even = matched_draw_weights(src, dst, share=0.0)
    assert torch.allclose(even, torch.full_like(even, 1 / 12))
    half = matched_draw_weights(src, dst, share=0.5)
    assert torch.allclose(half, (even + weights) / 2)
    with pytest.raises(ValueError):
        matched_draw_weights(src, dst, share=1.5)


def _faceset(yaw: float, count: int) -> FaceSet:
    faces = torch.zeros(count, 3, 64, 64, dtype=torch.uint8)
    faces[..., :24] = 255  # bright left third: a mirror image is bright on the right
    return FaceSet(faces, _turned(yaw)[None].repeat(count, 1, 1), "whole_face", "x")


def _mirrored_share(match_pose: float | None, dst_yaw: float = 0.12) -> float:
    config = TrainConfig(src="s", dst="d", out="o", preset="tiny", batch_size=64, match_pose=match_pose)
    batcher = Batcher(_faceset(-0.1, 6), _faceset(dst_yaw, 6), config, torch.device("cpu"))
    target = batcher.draw(torch.Generator().manual_seed(0))["src"][1]
    return (target[..., -16:].mean(dim=(1, 2, 3)) > target[..., :16].mean(dim=(1, 2, 3))).float().mean().item()


def test_batches_show_src_turned_as_dst_turns():
    assert 0.3 < _mirrored_share(0.0) < 0.7  # mirrored at random
    assert _mirrored_share(1.0) == 1.0  # src turns one way, dst the other: every draw mirrored


def test_share_of_dst_turned_past_every_src_face_and_mirror_image():
    src = torch.tensor([-0.11, 0.0, 0.03])  # mirrored, src covers -0.11..0.11
    dst = torch.tensor([0.05, -0.1, 0.12, 0.15, -0.2])
    assert turned_past_src_share(src, dst) == pytest.approx(3 / 5)
    assert math.isnan(turned_past_src_share(src, torch.zeros(0)))


def test_pose_matching_is_on_by_default_only_where_dst_turns_past_src():
    src = torch.tensor([-0.11, 0.0, 0.03])
    assert resolved_share(0.0, src, torch.full((10,), 0.2)) == 0.0  # a share given is kept
    assert resolved_share(0.3, src, torch.zeros(10)) == 0.3
    past = torch.tensor([0.12] * 3 + [0.05] * 7)  # 30 % past 0.11: vr_2 -> lp_s18 had 28 %
    assert resolved_share(None, src, past) == 0.5
    assert resolved_share(None, src, torch.tensor([0.12] * 1 + [0.05] * 9)) == 0.0  # 10 %: vr_2 -> lp_d12 had 7 %
    assert resolved_share(None, src, torch.zeros(0)) == 0.0
    assert _mirrored_share(None) > 0.65  # every dst face past src: half the draws matched (all mirrored)
    assert 0.3 < _mirrored_share(None, dst_yaw=-0.08) < 0.7  # dst within src's turns: mirrored at random


def test_a_resumed_model_keeps_the_share_it_trained_with():
    src, past = torch.tensor([-0.11, 0.0, 0.03]), torch.full((10,), 0.15)  # auto would choose 0.5

    def share(match_pose: float | None, resume: bool, meta: dict) -> float:
        config = TrainConfig(src="s", dst="d", out="o", match_pose=match_pose, resume=resume)
        return pose_share(config, TrainState(None, None, None, meta=meta), src, past)

    assert share(None, resume=False, meta={}) == 0.5
    assert share(None, resume=True, meta={"match_pose": 0.0}) == 0.0  # trained with 0: resumes with 0
    assert share(None, resume=True, meta={}) == 0.0  # a model from before the record: the old default
    assert share(None, resume=True, meta={"match_pose": 0.5}) == 0.5
    assert share(0.3, resume=True, meta={"match_pose": 0.5}) == 0.3  # a share given is used
