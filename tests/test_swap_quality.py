"""Swap quality: realism measures, mesh masks, DeepFaceLab-strength warp, time budgets, dst's manifest."""

import dataclasses
import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from swaplab.core.errors import SwaplabError
from swaplab.datasets.manifest import read_manifest, write_manifest
from swaplab.datasets.outputs import RunOutput
from swaplab.generate import augment, faceset, pipeline, swap, train
from swaplab.generate.quality import RealismSums, measure_frame, realism_from
from swaplab.generate.quality import warnings as quality_warnings


def _scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured 160x160 frame and a soft elliptical blend mask over its middle."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.uniform(0, 255, (160, 160, 3)).astype(np.float32), (0, 0), 1.2)
    frame = np.clip(0.6 * noise + 60, 0, 255).astype(np.uint8)
    mask = np.zeros((160, 160), np.float32)
    cv2.ellipse(mask, (80, 80), (45, 55), 0, 0, 360, 1.0, -1)
    return frame, cv2.GaussianBlur(mask, (0, 0), 2)


def _figures(swapped: np.ndarray, original: np.ndarray, mask: np.ndarray) -> dict:
    sums = RealismSums()
    measure_frame(sums, swapped, original, mask)
    return realism_from(sums)


def test_realism_figures_are_neutral_for_an_untouched_face() -> None:
    frame, mask = _scene()
    figures = _figures(frame, frame, mask)
    assert figures["sharpness_ratio"] == pytest.approx(1)
    assert figures["seam_colour_ratio"] == pytest.approx(1) and figures["seam_gradient_ratio"] == pytest.approx(1)
    assert figures["fringe_delta_e"] == pytest.approx(0, abs=1e-4) and figures["realism_frames"] == 1


def test_realism_figures_see_blur_seams_and_fringes() -> None:
    frame, mask = _scene()
    alpha = mask[..., None]
    blurred = cv2.GaussianBlur(frame, (0, 0), 2.5)
    pasted = lambda face: (frame * (1 - alpha) + face * alpha).round().astype(np.uint8)  # noqa: E731
    assert _figures(pasted(blurred), frame, mask)["sharpness_ratio"] < 0.2
    brighter = np.clip(frame.astype(np.float32) + 45, 0, 255)  # a face 45 levels off: a seam at the edge
    seam = _figures(pasted(brighter), frame, mask)
    assert seam["seam_colour_ratio"] > 1.5 and seam["seam_gradient_ratio"] > 1.1
    fringed = frame.astype(np.float32).copy()
    band = (mask > 0.3) & (cv2.erode((mask > 0.5).astype(np.uint8), np.ones((9, 9), np.uint8)) == 0)
    fringed[band] = [200, 40, 40]  # src's red background leaking in at the border
    fringe = _figures(pasted(fringed), frame, mask)
    assert fringe["fringe_delta_e"] > 10 and fringe["fringe_ratio"] > 3


def _skin_face(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 160x160 skin-coloured face (shading, grain, red lips, dark eyes) and its soft blend mask."""
    rng = np.random.default_rng(seed)
    shading = cv2.GaussianBlur(rng.normal(1, 0.15, (160, 160)).astype(np.float32), (0, 0), 6)[..., None]
    grain = rng.normal(0, 3, (160, 160, 3)).astype(np.float32)
    face = np.float32([205, 150, 125]) * shading + grain
    cv2.ellipse(face, (80, 112), (20, 7), 0, 0, 360, (170, 70, 75), -1)  # lips
    for x in (60, 100):
        cv2.ellipse(face, (x, 70), (10, 5), 0, 0, 360, (70, 45, 40), -1)  # eyes
    mask = np.zeros((160, 160), np.float32)
    cv2.ellipse(mask, (80, 85), (50, 62), 0, 0, 360, 1.0, -1)
    return np.clip(face, 0, 255).astype(np.uint8), cv2.GaussianBlur(mask, (0, 0), 2)


def test_colour_anomaly_sees_blotches_not_a_uniform_tint() -> None:
    face, mask = _skin_face()
    assert _figures(face, face, mask)["colour_anomaly_share"] == 0
    tinted = np.clip(face * np.float32([1.08, 0.95, 0.9]) + 6, 0, 255).astype(np.uint8)  # another skin tone
    softer = cv2.GaussianBlur(tinted, (0, 0), 1.5)  # and a blurrier swap
    assert _figures(tinted, face, mask)["colour_anomaly_share"] < 0.01
    assert _figures(softer, face, mask)["colour_anomaly_share"] < 0.02
    blotched = softer.astype(np.float32)
    patches = np.zeros((160, 160), np.float32)
    for centre in ((60, 82), (100, 82), (72, 98), (88, 98)):  # below the eyes, at the nostrils
        cv2.circle(patches, centre, 8, 1.0, -1)
    alpha = 0.6 * cv2.GaussianBlur(patches, (0, 0), 2)[..., None]
    blotched = (blotched * (1 - alpha) + np.float32([170, 80, 140]) * alpha).astype(np.uint8)  # purple-red
    share = _figures(blotched, face, mask)["colour_anomaly_share"]
    assert share > 0.05 and share > 5 * _figures(softer, face, mask)["colour_anomaly_share"]


def test_shading_delta_sees_anothers_lighting_not_a_uniform_change() -> None:
    """A face lit from another side (a broad light-to-dark slope across it) departs in shading; the same face a
    little brighter and softer, or with another fine grain, does not."""
    face, mask = _skin_face()
    assert _figures(face, face, mask)["shading_delta_l"] == 0
    brighter = cv2.GaussianBlur(np.clip(face.astype(np.float32) * 1.1 + 5, 0, 255), (0, 0), 1.5).astype(np.uint8)
    regrained = np.clip(face + np.random.default_rng(5).normal(0, 4, face.shape), 0, 255).astype(np.uint8)
    slope = np.linspace(1.35, 0.65, 160, dtype=np.float32)[None, :, None]  # lit from the image left
    side_lit = np.clip(face * slope, 0, 255).astype(np.uint8)
    uniform = max(_figures(brighter, face, mask)["shading_delta_l"], _figures(regrained, face, mask)["shading_delta_l"])
    assert uniform < 1.5 and _figures(side_lit, face, mask)["shading_delta_l"] > 6 * uniform


def test_random_warp_has_deepfacelabs_strength() -> None:
    field = augment.random_warp_field(256, 64, torch.Generator().manual_seed(0))
    assert field.shape == (256, 64, 64, 2)
    assert 1.6 < augment.mean_displacement_px(field) < 2.2  # DeepFaceLab's grid warp: 1.87 px at 64 px
    assert field[:, 0].abs().max() < 1e-6 and field[:, :, -1].abs().max() < 1e-6  # the border stays


def test_time_budget_has_no_default_iteration_cap(sample_faces: dict[str, Path], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train, "DEFAULT_ITERATIONS", 3)
    ticks = iter(range(10**6))
    monkeypatch.setattr(train, "clock", lambda: float(next(ticks)))  # each reading of the clock: 1 s later
    config = train.TrainConfig(src=sample_faces["astronaut"], dst=sample_faces["grace_hopper"], out=tmp_path / "m",
                               preset="tiny", minutes=0.2, batch_size=2, max_faces=16, mesh_masks=False)
    assert config.iteration_cap is None
    assert train.TrainConfig(src=(), dst=(), out=tmp_path, iterations=5, minutes=1).iteration_cap == 5
    assert train.TrainConfig(src=(), dst=(), out=tmp_path).iteration_cap == 3
    payload = train.load_checkpoint(train.run(config).checkpoint)
    assert payload["iteration"] > 3  # the default cap of 3 does not cut a time budget short
    assert 12 <= payload["log"][-1][1] <= 13  # it trained for the 12 s budget, and stopped
    resumed = dataclasses.replace(config, minutes=0.3, resume=True)
    assert 18 <= train.load_checkpoint(train.run(resumed).checkpoint)["log"][-1][1] <= 19  # minutes count resumed runs


def test_run_budget_covers_extraction_and_swap(hopper_clip: Path) -> None:
    config = pipeline.PipelineConfig(src=hopper_clip, dst=hopper_clip, out=Path("unused"), minutes=1.0)
    frames = 50  # the sample's 2-second clips at 25 fps
    left = pipeline.training_minutes(config, time.perf_counter() - 10, hopper_clip, "lq")
    assert left == pytest.approx((60 - 10 - frames * pipeline.SWAP_SECONDS_PER_FRAME[64]) / 60, abs=0.01)
    left_hq = pipeline.training_minutes(config, time.perf_counter() - 10, hopper_clip, "hq")
    assert left_hq == pytest.approx((60 - 10 - frames * pipeline.SWAP_SECONDS_PER_FRAME[128]) / 60, abs=0.01)
    assert pipeline.training_minutes(pipeline.PipelineConfig(src=hopper_clip, dst=hopper_clip, out=Path("u")),
                                     time.perf_counter(), hopper_clip, "lq") is None
    with pytest.raises(SwaplabError, match="give a larger budget"):
        pipeline.training_minutes(config, time.perf_counter() - 55, hopper_clip, "lq")


def test_mesh_masks_follow_the_face_and_are_cached(sample_faces: dict[str, Path], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "mesh_src_{key}.npy"
    faces = faceset.load_faceset(sample_faces["astronaut"], 64, max_faces=6, mesh_cache=cache)
    assert faces.dense is not None and faces.dense.shape == (6, 478, 2)
    assert not torch.isnan(faces.dense).any()
    masks, focus = faceset.target_masks(faces), faceset.focus_weights(faces)
    ellipse = torch.from_numpy(faceset.face_mask(64, faces.face_type))
    assert masks.shape == focus.shape == (6, 1, 64, 64)
    assert masks[:, 0, :2].max() == 0 and masks[:, 0, :, :2].max() == 0  # no background at the crop's borders
    assert (masks[:, 0] - ellipse).abs().mean() > 0.02  # the face's own outline, not the template ellipse
    oval = faces.dense[0, list(faceset.mesh.FACE_OVAL)].numpy()
    centre = oval.mean(axis=0).round().astype(int)
    assert masks[0, 0, centre[1], centre[0]] == pytest.approx(1)
    assert 0.02 < focus.mean() < 0.3 and torch.all(focus <= masks.ceil())  # eyes and mouth lie in the face

    def no_mesh(*args, **kwargs):
        raise AssertionError("the cached landmarks should be read, not recomputed")

    monkeypatch.setattr(faceset.mesh, "FaceMesh", no_mesh)
    again = faceset.load_faceset(sample_faces["astronaut"], 64, max_faces=6, mesh_cache=cache)
    assert torch.equal(again.dense, faces.dense) and len(list(tmp_path.glob("mesh_src_*.npy"))) == 1


def test_face_sets_are_the_union_of_their_manifests(sample_faces: dict[str, Path]) -> None:
    one = faceset.load_faceset(sample_faces["astronaut"], 32)
    both = faceset.load_faceset((sample_faces["astronaut"], sample_faces["grace_hopper"]), 32)
    assert len(both.faces) == len(one.faces) + len(faceset.load_faceset(sample_faces["grace_hopper"], 32).faces)
    assert both.identity == "astronaut+grace_hopper"


def test_swap_reads_dsts_manifest_instead_of_extracting_again(tiny_swap: Path) -> None:
    run = RunOutput(tiny_swap, "grace_hopper_01")
    assert not run.swap.dst_faces.folder.exists()  # no second extraction of dst
    dst = {r.frame_index: r for r in read_manifest(run.dst_faces.manifest) if r.source_path.endswith("01.mp4")}
    fakes = read_manifest(run.swap.fakes.manifest)
    assert {f.frame_index for f in fakes} == set(dst)
    for fake in fakes:  # aligned exactly as the genuine faces of the same frames
        assert fake.matrix == dst[fake.frame_index].matrix and fake.has_face == dst[fake.frame_index].has_face
    config = json.loads(run.swap.config.read_text())["config"]
    assert config["dst_faces"] == str(run.dst_faces.manifest) and "smooth" not in config


def test_a_finished_swap_is_reused_only_by_the_config_that_made_it(tiny_swap: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """`generate run` run again keeps the swap its own settings made, and swaps again for any other setting (before,
    a changed --keep-eyes or --temporal on a rerun left the old video and its quality.json in place)."""
    from swaplab.core.config import build_config
    from swaplab.datasets.outputs import SwapOutput

    run = RunOutput(tiny_swap, "grace_hopper_01")
    made = build_config(swap.SwapConfig, run.swap.config)
    assert swap.made_by(made, run.swap)
    assert not swap.made_by(dataclasses.replace(made, keep_lips=not made.keep_lips), run.swap)
    assert not swap.made_by(dataclasses.replace(made, temporal=0.5), run.swap)
    assert not swap.made_by(made, SwapOutput(tmp_path, "grace_hopper_01"))  # nothing there
    manifest = run.swap.fakes.manifest
    finished = manifest.read_bytes()
    try:  # cut short after the new video and provenance, before the fakes' manifest: the old manifest is there
        rows = read_manifest(manifest)
        write_manifest([dataclasses.replace(rows[0], generator_run="swap-000000000000"), *rows[1:]], manifest)
        assert not swap.made_by(made, run.swap)
    finally:
        manifest.write_bytes(finished)
    assert swap.made_by(made, run.swap)
    assert json.loads(run.swap.provenance.read_text())["code_sha256"] == swap.swap_code_sha256()
    monkeypatch.setattr(swap, "swap_code_sha256", lambda: "0" * 64)  # swaplab's swapping code changed since
    assert not swap.made_by(made, run.swap)


def test_a_rerun_of_generate_run_keeps_its_model_bytes_and_its_swap(tiny_swap: Path, tiny_run_config) -> None:
    """Run again with the same settings, `generate run` trains no step more, saves the same checkpoint bytes (torch
    named the archive after a random temporary file, so each save hashed differently and every rerun swapped
    again), and keeps its swap and quality.json."""
    from swaplab.core.fileio import sha256_of

    run = RunOutput(tiny_swap, "grace_hopper_01")
    checkpoint = sha256_of(run.model.checkpoint)
    written = run.swap.video.stat().st_mtime_ns, run.swap.quality.stat().st_mtime_ns
    pipeline.run(tiny_run_config)
    assert sha256_of(run.model.checkpoint) == checkpoint
    assert (run.swap.video.stat().st_mtime_ns, run.swap.quality.stat().st_mtime_ns) == written


def test_swap_refuses_a_manifest_without_dsts_faces(tiny_swap: Path, astronaut_clip: Path, tmp_path: Path) -> None:
    run = RunOutput(tiny_swap, "grace_hopper_01")
    with pytest.raises(SwaplabError, match="holds no faces of"):
        swap.run(swap.SwapConfig(model=run.model.folder, dst=astronaut_clip, out=tmp_path,
                                 dst_faces=run.dst_faces.manifest))


def test_quality_json_has_acceptance_and_realism(tiny_swap: Path) -> None:
    quality = json.loads(RunOutput(tiny_swap, "grace_hopper_01").swap.quality.read_text())
    assert 0 <= quality["facenet_accept_rate"] <= 1 and quality["realism_frames"] > 0
    for key in ("sharpness_ratio", "seam_colour_ratio", "seam_gradient_ratio", "fringe_delta_e", "fringe_ratio",
                "colour_anomaly_share", "shading_delta_l"):
        assert np.isfinite(quality[key]) and quality[key] >= 0, key
    assert quality["eye_frames"] > 0 and 0 <= quality["broken_eye_share"] <= 1
    assert -1 <= quality["eye_likeness_swapped"] <= 1 and -1 <= quality["eye_likeness_dst"] <= 1
    assert quality["broken_eye_share"] > 0.5  # 4 iterations of a tiny model draw no eye (measured: 0.66, likeness 0.30)
    assert quality["keep_eyes"] is True  # the eye figures see dst's eyes inside the tiny model's lids
    assert quality["keep_mouth"] is True and quality["keep_lips"] is True
    if "dlib_accept_rate" in quality:  # the blind judge's mean cosine, above 0.904 where it accepts every face
        assert -1 <= quality["dlib_similarity_to_src"] <= 1 and -1 <= quality["dlib_dst_similarity_to_src"] <= 1
        if quality["dlib_accept_rate"] in (0.0, 1.0):
            assert (quality["dlib_similarity_to_src"] >= 0.904) == (quality["dlib_accept_rate"] == 1.0)
    if quality.get("mouth_frames"):  # where Face Mesh finds the tiny model's face at all
        assert quality["mouth_gap_error"] >= 0 and len(quality["mouth_gap_frames"]) <= 10


def test_warnings_name_broken_eyes_and_turns_past_src() -> None:
    assert quality_warnings({"broken_eye_share": 0.01, "dst_turned_past_src_share": 0.07}) == []
    eyes, turn = quality_warnings({"broken_eye_share": 0.98, "broken_eye_frames": [5, 158],
                                   "dst_turned_past_src_share": 0.28})
    assert "98% of the faces" in eyes and "frames 5, 158" in eyes
    assert "28%" in turn and "--match-pose" in turn
    assert quality_warnings({"dst_turned_past_src_share": 0.28, "match_pose": 0.5}) == []  # matched already


def test_shut_eye_figures_count_dst_s_shut_eyes_and_those_shown_open() -> None:
    from swaplab.generate.quality import shut_eye_figures

    frames = np.array([3, 4, 5, 6])
    original = np.array([[0.01, 0.25], [0.03, 0.031], [0.0, 0.0], [0.2, 0.2]])  # shut: <= 0.03
    swapped = np.array([[0.08, 0.25], [0.079, 0.3], [0.0, 0.3], [0.0, 0.0]])  # open: >= 0.08
    figures = shut_eye_figures(frames, swapped, original)
    assert figures["shut_eyes_dst"] == 4 and figures["shut_eye_opened_share"] == pytest.approx(2 / 4)
    assert figures["shut_eye_opened_frames"] == [3, 5]
    never = shut_eye_figures(frames, swapped, np.full((4, 2), 0.2))
    assert never["shut_eyes_dst"] == 0 and np.isnan(never["shut_eye_opened_share"])
    assert shut_eye_figures(np.zeros(0, int), np.zeros((0, 2)), np.zeros((0, 2))) == {}


def test_shut_eye_figures_see_dst_s_shut_eyes_drawn_open(media: Path, tmp_path: Path) -> None:
    """pexels_wolfgang_langer shuts both eyes (frames 20-39, crying) and has them open at 160-179: cut into one clip
    and extracted, its own crops read back shut where its mesh says shut (none opened); the open frames' crops put
    on the shut ones, as a swap that draws src's open eyes over dst's shut ones, open nearly all of them."""
    from swaplab.core.media import iter_frames, write_video
    from swaplab.datasets.manifest import faces_only, write_manifest
    from swaplab.faces.extract import ExtractConfig, run_extract
    from swaplab.generate.quality import opening_figures

    frames = [f.image for f in iter_frames(media / "talking" / "pexels_wolfgang_langer.mp4")
              if 20 <= f.index < 40 or 160 <= f.index < 180]
    clip = write_video(frames, tmp_path / "pexels_cut.mp4", fps=24)
    dst = run_extract(ExtractConfig(inputs=(clip,), out=tmp_path / "dst", crop_size=256, device="cpu")).manifest
    same = opening_figures(dst, dst)
    assert same["shut_eyes_dst"] >= 30 and same["shut_eye_opened_share"] == 0, same  # 20 faces, 2 eyes each
    rows = faces_only(read_manifest(dst))
    crop_of = {r.frame_index: r.crop_path for r in rows}
    opened = [dataclasses.replace(r, crop_path=crop_of[r.frame_index + 20]) for r in rows
              if r.frame_index < 20 and r.frame_index + 20 in crop_of]
    fakes = write_manifest(opened, dst.parent / "opened.csv")  # beside dst's: the crops are dst's own
    drawn_open = opening_figures(fakes, dst)
    assert drawn_open["shut_eye_opened_share"] > 0.9 and len(drawn_open["shut_eye_opened_frames"]) == 10, drawn_open


def test_mouth_figures_read_a_real_mouth_and_see_one_that_opens_out_of_turn(media: Path, tmp_path: Path) -> None:
    """lp_d12 frames 100-130 (speech, then a wide-open mouth at 120), extracted: its own crops read back as the
    manifest's mesh says (no error); crops taken 8 frames later, as a swap whose mouth lags dst's, differ."""
    from swaplab.core.media import iter_frames, write_video
    from swaplab.datasets.manifest import faces_only, write_manifest
    from swaplab.faces.extract import ExtractConfig, run_extract
    from swaplab.generate.quality import opening_figures

    frames = [f.image for f in iter_frames(media / "talking" / "lp_d12.mp4") if 100 <= f.index < 130]
    clip = write_video(frames, tmp_path / "lp_d12_cut.mp4", fps=25)
    dst = run_extract(ExtractConfig(inputs=(clip,), out=tmp_path / "dst", crop_size=256, device="cpu")).manifest
    same = opening_figures(dst, dst)
    assert same["mouth_frames"] >= 25 and same["mouth_gap_error"] < 0.01, same
    assert 0.1 < same["mouth_gap_dst"] < 0.5  # talking: a mean gap of a tenth to a half of the eyes' distance
    rows = faces_only(read_manifest(dst))
    crop_of = {r.frame_index: r.crop_path for r in rows}
    lagging = [dataclasses.replace(r, crop_path=crop_of[r.frame_index + 8]) for r in rows if r.frame_index + 8 in crop_of]
    fakes = write_manifest(lagging, dst.parent / "lagging.csv")  # beside dst's: the crops are dst's own
    late = opening_figures(fakes, dst)
    assert late["mouth_gap_error"] > 5 * same["mouth_gap_error"] + 0.03, (late, same)
