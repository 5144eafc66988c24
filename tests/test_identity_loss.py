"""The identity loss (FaceNet cosine of the swap to src) and what it changes downstream."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from swaplab.datasets.manifest import faces_only, read_manifest
from swaplab.datasets.outputs import SwapOutput
from swaplab.faces import align
from swaplab.faces.facenet import box_in_crop, typical_box_in_crop
from swaplab.faces.backends import AlignedFace
from swaplab.generate.faceset import load_faceset
from swaplab.generate.identity import IdentityLoss, facenet_window
from swaplab.generate.quality import judges
from swaplab.generate.train import TrainConfig, load_checkpoint
from swaplab.generate.train import run as train


@pytest.mark.parametrize("face_type", sorted(align.FACE_TYPES))
def test_facenet_window_lies_in_the_crop(face_type: str) -> None:
    top, bottom, left, right = facenet_window(face_type, 64)
    assert 0 <= top < bottom <= 64 and 0 <= left < right <= 64
    assert (bottom - top) * (right - left) > 0.3 * 64 * 64


def test_typical_box_matches_the_detected_boxes(sample_faces: dict[str, Path]) -> None:
    for manifest in sample_faces.values():
        rows = faces_only(read_manifest(manifest))
        boxes = [box_in_crop(AlignedFace(np.zeros((r.crop_size,) * 2 + (3,), np.uint8), r.matrix_array,
                                         np.array(r.bbox), r.face_type)) / r.crop_size for r in rows]
        typical = typical_box_in_crop(rows[0].face_type, 1)
        assert np.abs(np.mean(boxes, axis=0) - typical).max() < 0.08


def test_identity_loss_tells_the_two_people_apart(sample_faces: dict[str, Path]) -> None:
    src = load_faceset(sample_faces["astronaut"], 64, 24)
    dst = load_faceset(sample_faces["grace_hopper"], 64, 24)
    loss = IdentityLoss(src, 1.0, torch.device("cpu"), bf16=False)
    with torch.no_grad():
        same = loss.similarity(src.faces.float() / 255).mean()
        other = loss.similarity(dst.faces.float() / 255).mean()
        assert same > 0.8 and other < 0.5
        assert loss(dst.faces[:2].float() / 255) > loss(src.faces[:2].float() / 255)


def _train(faces: dict[str, Path], out: Path, weight: float) -> dict:
    train(TrainConfig(src=faces["astronaut"], dst=faces["grace_hopper"], out=out, preset="tiny", iterations=2,
                      batch_size=4, max_faces=24, precision="fp32", identity_weight=weight))
    return load_checkpoint(out / "model.pt")


def test_identity_term_trains_the_src_decoder_and_is_recorded(sample_faces: dict[str, Path], tmp_path: Path) -> None:
    plain, with_id = _train(sample_faces, tmp_path / "plain", 0.0), _train(sample_faces, tmp_path / "id", 1.0)
    assert "identity_loss" not in plain["meta"] and with_id["meta"]["identity_loss"]["weight"] == 1.0
    assert plain["log"][-1][6] is None and 0 < with_id["log"][-1][6] < 2
    changed = [name for name, tensor in with_id["model"].items() if not torch.equal(tensor, plain["model"][name])]
    assert any(name.startswith("decoder_src") for name in changed)
    header, *rows = (tmp_path / "id" / "losses.csv").read_text().splitlines()
    assert header.endswith(",identity") and rows[-1].split(",")[-1] != ""
    assert (tmp_path / "plain" / "losses.csv").read_text().splitlines()[-1].endswith(",")


def test_quality_says_when_facenet_is_not_a_blind_judge(tmp_path: Path) -> None:
    output = SwapOutput(tmp_path, "clip")
    assert judges(output) == {"facenet_blind": True}
    output.provenance.write_text(json.dumps({"model": {"identity_loss": {"weight": 1.0}}}))
    verdict = judges(output)
    assert verdict["facenet_blind"] is False and "dlib" in verdict["judges_note"]


def test_grey_identity_term_moves_the_three_channels_alike(sample_faces: dict[str, Path]) -> None:
    src = load_faceset(sample_faces["astronaut"], 64, 8)
    grads = {}
    for luma in (True, False):
        faces = (src.faces[:1].float() / 255).requires_grad_()
        IdentityLoss(src, 1.0, torch.device("cpu"), bf16=False, luma=luma)(faces).backward()
        grads[luma] = faces.grad[0]
    assert torch.allclose(grads[True][0], grads[True][1]) and torch.allclose(grads[True][1], grads[True][2])
    assert not torch.allclose(grads[False][0], grads[False][2])  # in colour it could tint the face
