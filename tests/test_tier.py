"""``generate run --preset auto`` (generate/tier.py): the tier from dst's face size, the budget, a pretrained
or resumed model; and the pipeline around it."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import pytest
import torch
from typer.testing import CliRunner

from swaplab.cli import app
from swaplab.core.config import save_config
from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import sha256_of
from swaplab.core.media import iter_frames, write_video
from swaplab.datasets.manifest import FaceRecord, faces_only, read_manifest, write_manifest
from swaplab.datasets.outputs import ExtractOutput, RunOutput
from swaplab.faces.extract import ExtractConfig, run_extract
from swaplab.generate import pipeline, tier, train


def face_of_side(side: float, index: int = 0, has_face: bool = True) -> FaceRecord:
    """A face whose 256 px crop covers ``side`` frame pixels (frame->crop scale 256 / side)."""
    scale = 256 / side
    return FaceRecord(
        crop_path=f"crops/v/{index:06d}.png", identity="dst", video_id="v", frame_index=index, timestamp=index / 25,
        source_path="/data/v.mp4", source_sha256="ab" * 32, has_face=has_face, bbox=(0.0, 0.0, side, side),
        landmarks=((10.0, 11.0), (20.0, 11.5), (15.0, 18.0), (11.0, 25.0), (19.0, 25.5)),
        matrix=((scale, 0.0, 0.0), (0.0, scale, 0.0)), crop_size=256, face_type="whole_face",
        template="five-point-112-v1", frame_width=1280, frame_height=720, detector="mtcnn", det_score=0.99,
        landmark_source="tracked", selection="largest-track")


def faces_of(*sides: float) -> list[FaceRecord]:
    return [face_of_side(side, i) for i, side in enumerate(sides)]


def test_the_enlargement_is_the_median_face_side_over_lq_resolution() -> None:
    assert tier.lq_enlargement(faces_of(128, 400, 416, 420, 900)) == pytest.approx(416 / 64)
    assert tier.lq_enlargement([*faces_of(416), face_of_side(10, 1, has_face=False)]) == pytest.approx(416 / 64)
    with pytest.raises(SwaplabError, match="no face to size"):
        tier.lq_enlargement([face_of_side(100, has_face=False)])


@pytest.mark.parametrize(("side", "hq_minutes", "iterations", "pretrained", "hardware", "preset", "why"), [
    # a 720p close-up (lp_s18: 416 px) with 25 min of hq training: about 228 iterations in fp32 (measured: a softer
    # face than lq's), 608 with fast bf16 (short of hq's 6000 too), about 6075 in 250 min of bf16 ...
    (416, 25.0, None, "builtin", "cpu-fp32", "lq", "about 228 iterations on cpu-fp32, under the 6000"),
    (416, 25.0, None, "builtin", "cpu-bf16", "lq", "about 608 iterations on cpu-bf16, under the 6000"),
    (416, 250.0, None, "builtin", "cpu-bf16", "hq", "about 6075 iterations on cpu-bf16"),
    # ... 4 minutes' worth on a GPU, not 3
    (416, 4.0, None, "builtin", "cuda", "hq", "about 7000 iterations on cuda"),
    (416, 3.0, None, "builtin", "cuda", "lq", "about 5250 iterations on cuda, under the 6000"),
    (416, -2.0, None, "builtin", "cuda", "lq", "leaves no time to train hq"),
    (416, None, None, "builtin", "cuda", "lq", "iteration count"),      # no time budget: the count is the user's
    (416, 25.0, 2000, "builtin", "cuda", "lq", "iteration count"),      # --iterations given too
    (416, 25.0, None, None, "cuda", "lq", "only from a pretrained"),    # from scratch
    (192, 60.0, None, "builtin", "cuda", "lq", "hq from 3x"),           # lq enlarges 3x: not more than the line
    (200, 60.0, None, "builtin", "cuda", "hq", "on cuda"),              # just past it
])
def test_auto_picks_hq_only_for_a_large_face_a_pretrained_model_and_the_time_to_train(
        tmp_path: Path, side: float, hq_minutes: float | None, iterations: int | None, pretrained: str | None,
        hardware: str, preset: str, why: str) -> None:
    choice = tier.choose_tier(faces_of(side, side, side), hq_training_minutes=hq_minutes, iterations=iterations,
                              pretrained=pretrained, model_dir=tmp_path / "model", hardware=hardware)
    assert choice.preset == preset and why in choice.reason, choice.reason
    assert choice.enlargement == pytest.approx(side / 64) and f"{side / 64:.1f}x" in choice.reason


def test_the_hardware_key_follows_device_and_precision() -> None:
    assert tier.hardware(torch.device("cpu"), "fp32") == "cpu-fp32"
    assert tier.hardware(torch.device("cpu"), "bf16") == "cpu-bf16"
    assert tier.hardware(torch.device("cuda"), "bf16") == "cuda"
    assert set(tier.HQ_ITERATIONS_PER_MINUTE) == {"cpu-fp32", "cpu-bf16", "cuda"}


def test_a_pretrained_file_and_a_resumed_model_keep_their_own_tier(tiny_swap: Path, tmp_path: Path) -> None:
    close_up = faces_of(416, 416)
    for preset in ("lq", "hq"):  # the shipped models, given as files
        choice = tier.choose_tier(close_up, hq_training_minutes=None, iterations=None,
                                  pretrained=train.shipped_pretrained(preset), model_dir=tmp_path)
        assert choice.preset == preset and "pretrained model" in choice.reason
    model = RunOutput(tiny_swap, "").model
    resumed = tier.choose_tier(close_up, hq_training_minutes=30.0, iterations=None, pretrained="builtin",
                               model_dir=model.folder)
    assert resumed.preset == "tiny" and "resumes the tiny model" in resumed.reason
    bare = tmp_path / "bare"  # a checkpoint without its train_config.json: the tier from its spec
    bare.mkdir()
    shutil.copy(model.checkpoint, bare / model.checkpoint.name)
    assert tier.resumed_preset(bare) == "tiny" and tier.resumed_preset(tmp_path / "none") is None


def test_run_config_refuses_an_unknown_preset(tmp_path: Path) -> None:
    assert pipeline.PipelineConfig(src=tmp_path, dst=tmp_path, out=tmp_path).preset == tier.AUTO
    with pytest.raises(SwaplabError, match="unknown preset 'mq'"):
        pipeline.PipelineConfig(src=tmp_path, dst=tmp_path, out=tmp_path, preset="mq")


def test_generate_run_records_its_tier(tiny_swap: Path) -> None:
    recorded = json.loads(RunOutput(tiny_swap, "").tier.read_text())
    assert recorded == {"preset": "tiny", "enlargement": None, "hq_training_minutes": None, "reason": "given"}


def test_generate_run_prints_auto_s_choice_before_training(tiny_swap: Path, sample_dir: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The default (auto) on the sample's small faces, through the CLI: the tier line comes before training
    (stopped here), and ``tier.json`` holds the enlargement and the reason."""
    out = tmp_path / "run"
    for side in ("src_faces", "dst_faces"):  # the tiny run's face sets: no extraction again
        shutil.copytree(tiny_swap / side, out / side)

    def stop(*args, **kwargs):
        raise SwaplabError("stopped before training")

    monkeypatch.setattr(pipeline, "train_or_resume", stop)
    result = CliRunner().invoke(app, ["generate", "run", "--src", str(sample_dir / "astronaut" / "astronaut_00.mp4"),
                                      "--dst", str(sample_dir / "grace_hopper" / "grace_hopper_01.mp4"),
                                      "--out", str(out), "--iterations", "1", "--device", "cpu"])
    assert result.exit_code == 2, result.output
    assert result.output.index("tier: lq (lq enlarges dst's face") < result.output.index("error: stopped")
    recorded = json.loads(RunOutput(out, "").tier.read_text())
    assert recorded["preset"] == "lq" and recorded["enlargement"] > 0 and "iteration count" in recorded["reason"]
    other = CliRunner().invoke(app, ["generate", "run", "--src", str(sample_dir / "astronaut" / "astronaut_00.mp4"),
                                     "--dst", str(sample_dir / "grace_hopper" / "grace_hopper_00.mp4"),
                                     "--out", str(out), "--iterations", "1", "--device", "cpu"])
    assert other.exit_code == 2 and "holds faces extracted from" in other.output, other.output  # not reused


def test_a_face_set_is_not_reused_for_a_video_that_changed_since_its_extraction(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"the video as it was extracted")
    faces = ExtractOutput(tmp_path / "faces")
    faces.folder.mkdir()
    save_config(ExtractConfig(inputs=(video,), out=faces.folder), faces.config)
    write_manifest([replace(face_of_side(300), source_sha256=sha256_of(video))], faces.all_faces)
    pipeline.check_extracted_from(faces, (video,))  # the same file: reused
    video.write_bytes(b"another video saved under the same name")
    with pytest.raises(SwaplabError, match="v.mp4 changed since"):
        pipeline.check_extracted_from(faces, (video,))


def test_a_receiving_video_whose_faces_are_not_the_chosen_person_s_is_named_so(tmp_path: Path) -> None:
    faces = ExtractOutput(tmp_path)
    write_manifest([replace(face_of_side(300), video_id="other")], faces.manifest)
    write_manifest([face_of_side(300)], faces.all_faces)  # video "v" has a face, not in the face set
    with pytest.raises(SwaplabError, match="not of the person chosen"):
        pipeline.receiving_faces(faces, Path("/data/v.mp4"))
    write_manifest([replace(face_of_side(300), video_id="other")], faces.all_faces)
    with pytest.raises(SwaplabError, match="no clear face"):
        pipeline.receiving_faces(faces, Path("/data/v.mp4"))
    assert len(pipeline.receiving_faces(faces, Path("/data/other.mp4"))) == 1


def test_a_dst_video_without_a_face_stops_generate_run_before_training(media: Path, sample_dir: Path,
                                                                        tmp_path: Path) -> None:
    """The receiving video is left out of dst's extraction (no face), another dst input has faces: the run
    stops with one line before any training, not after a whole time budget."""
    out = tmp_path / "run"
    result = CliRunner().invoke(app, [
        "generate", "run", "--src", str(sample_dir / "astronaut" / "astronaut_00.mp4"),
        "--dst", str(media / "bad" / "no_face.mp4"), "--dst", str(sample_dir / "grace_hopper" / "grace_hopper_01.mp4"),
        "--out", str(out), "--preset", "tiny", "--iterations", "1", "--device", "cpu"])
    assert result.exit_code == 2 and result.output.count("error:") == 1, result.output
    assert "no_face.mp4" in result.output and "cannot receive src's face" in result.output
    assert "it holds no clear face" in result.output
    assert faces_only(read_manifest(RunOutput(out, "no_face").dst_faces.manifest))  # grace_hopper's faces
    assert not RunOutput(out, "no_face").model.checkpoint.exists()


def test_on_real_footage_a_close_up_gets_hq_and_the_same_clip_reduced_gets_lq(media: Path, tmp_path: Path) -> None:
    """lp_s18 is a 720p close-up (a face about 420 px wide in the frame, 6.5x lq's 64 px); reduced to 320 x 180
    the same face is about 105 px, which lq renders at 1.6x."""
    frames = [frame.image for frame in iter_frames(media / "talking" / "lp_s18.mp4") if frame.index < 6]
    reduced = [cv2.resize(image, (320, 180), interpolation=cv2.INTER_AREA) for image in frames]
    chosen = {}
    for name, images in (("close", frames), ("reduced", reduced)):
        clip = write_video(images, tmp_path / f"{name}.mp4", fps=25)
        rows = faces_only(read_manifest(run_extract(ExtractConfig(inputs=(clip,), out=tmp_path / name, mesh=False,
                                                                  device="cpu")).manifest))
        chosen[name] = tier.choose_tier(rows, hq_training_minutes=25.0, iterations=None, pretrained="builtin",
                                        model_dir=tmp_path / "model", hardware="cuda")
    assert chosen["close"].preset == "hq" and 6 < chosen["close"].enlargement < 7
    assert chosen["reduced"].preset == "lq" and 1.3 < chosen["reduced"].enlargement < 2
