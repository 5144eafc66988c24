import json
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from swaplab.datasets.manifest import read_manifest
from swaplab.core.errors import SwaplabError
from swaplab.generate import augment, losses, pipeline
from swaplab.generate.blend import (DETAIL_LIMIT, blend_into_frame, filmed_detail, refine_pasted, shape_mask,
                                    sharpen_pasted, upscale_of)
from swaplab.generate.colour import COLOUR_TRANSFERS
from swaplab.generate.models import PRESETS, SWAP_MODELS, ModelSpec, build_model
from swaplab.generate.train import TrainConfig, load_checkpoint
from swaplab.generate.train import run as train
from swaplab.core.media import probe


@pytest.mark.parametrize("name", SWAP_MODELS.names())
def test_every_swap_model_reconstructs_and_swaps(name: str) -> None:
    model = build_model(ModelSpec(name, 64, 8, 32, 8))
    x = torch.rand(2, 3, 64, 64)
    for out in (*model.reconstruct(x, "src"), *model.reconstruct(x, "dst"), *model.swap(x)):
        assert out.shape[0] == 2 and out.shape[-2:] == (64, 64) and 0 <= out.min() and out.max() <= 1
    assert model.swap(x)[0].shape[1] == 3 and model.swap(x)[1].shape[1] == 1


def test_reference_model_has_the_size_of_faceswaps_original() -> None:
    params = sum(p.numel() for p in build_model(ModelSpec("original", 64)).parameters())
    assert 82e6 < params < 86e6  # 82 M as faceswap's, plus our small mask heads


@pytest.mark.parametrize(("kernel", "stride", "size"), [(5, 2, 8), (3, 1, 4), (3, 1, 8)])
def test_small_map_convolution_equals_a_convolution_in_value_and_gradient(kernel: int, stride: int, size: int) -> None:
    from swaplab.generate.models import SmallMapConv2d

    torch.manual_seed(0)
    small, plain = SmallMapConv2d(16, 32, kernel, stride, kernel // 2), torch.nn.Conv2d(16, 32, kernel, stride, kernel // 2)
    plain.load_state_dict(small.state_dict())
    small.to(memory_format=torch.channels_last)
    assert small.weight.is_contiguous()  # its weight matrix stays a view
    x = torch.randn(3, 16, size, size).to(memory_format=torch.channels_last).requires_grad_()
    grads = []
    for conv in (small, plain):
        out = conv(x)
        out.square().sum().backward()
        grads.append((out.detach(), x.grad.clone(), conv.weight.grad.clone(), conv.bias.grad.clone()))
        x.grad = None
    for mine, theirs in zip(*grads, strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-4)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the training precision
        mine, theirs = small(x), plain(x)
    assert mine.dtype == theirs.dtype == torch.bfloat16
    torch.testing.assert_close(mine.float(), theirs.float(), rtol=0.05, atol=0.05)


def test_resumed_optimiser_moments_take_their_weights_layout() -> None:
    from swaplab.generate.train import match_state_layout

    torch.manual_seed(0)
    weights = [torch.nn.Parameter(torch.randn(4, 3, 5, 5)) for _ in range(2)]  # contiguous, as SmallMapConv2d's
    fused, plain = torch.optim.Adam([weights[0]], fused=True), torch.optim.Adam([weights[1]])
    weights[1].data.copy_(weights[0].data)
    for weight, optimiser in ((weights[0], fused), (weights[1], plain)):
        weight.grad = torch.ones_like(weight)
        optimiser.step()
    saved = fused.state_dict()  # written when the weight was channels-last (checkpoints before cbfbf39)
    for name in ("exp_avg", "exp_avg_sq"):
        saved["state"][0][name] = saved["state"][0][name].contiguous(memory_format=torch.channels_last)
    fused.load_state_dict(saved)
    match_state_layout(fused)
    assert all(fused.state[weights[0]][n].is_contiguous() for n in ("exp_avg", "exp_avg_sq"))
    for weight, optimiser in ((weights[0], fused), (weights[1], plain)):
        weight.grad = torch.linspace(-1, 1, weight.numel()).reshape(weight.shape)
        optimiser.step()
    torch.testing.assert_close(weights[0].data, weights[1].data)  # the fused step updates the right elements


def test_the_64_px_models_run_their_4x4_bottleneck_convolutions_as_matrix_products() -> None:
    from swaplab.generate.models import SmallMapConv2d

    def small(spec: ModelSpec) -> int:
        return sum(isinstance(m, SmallMapConv2d) for m in build_model(spec).modules())

    assert small(PRESETS["lq"]) == 2 and small(ModelSpec("original", 64)) == 2 and small(PRESETS["hq"]) == 0
    from swaplab.generate.train import load_pretrained, shipped_pretrained

    shipped = set(load_pretrained(shipped_pretrained("lq"))["model"])  # same weight names as before: it still loads
    assert shipped == {k for k in build_model(PRESETS["lq"]).state_dict() if not k.startswith("decoder_dst.")}


@pytest.mark.parametrize("name", COLOUR_TRANSFERS.names())
def test_every_colour_transfer_keeps_shape_and_range(name: str) -> None:
    rng = np.random.default_rng(0)
    face, target = rng.uniform(0.2, 0.6, (32, 32, 3)).astype(np.float32), rng.uniform(0.3, 0.9, (32, 32, 3)).astype(np.float32)
    out = COLOUR_TRANSFERS.get(name)(face, target, np.ones((32, 32), np.float32))
    assert out.shape == face.shape and out.min() >= 0 and out.max() <= 1


def test_colour_transfers_match_the_statistics_they_promise() -> None:
    rng = np.random.default_rng(1)
    face = rng.uniform(0.2, 0.5, (48, 48, 3)).astype(np.float32)
    mix = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.0, 0.3, 0.6]])
    target = (0.3 + 0.4 * rng.uniform(0, 1, (48, 48, 3)) @ mix.T).astype(np.float32)
    mask = np.ones((48, 48), np.float32)
    for name in ("lct", "mkl"):
        out = COLOUR_TRANSFERS.get(name)(face, target, mask).reshape(-1, 3)
        np.testing.assert_allclose(out.mean(0), target.reshape(-1, 3).mean(0), atol=2e-3)
        np.testing.assert_allclose(np.cov(out.T), np.cov(target.reshape(-1, 3).T), atol=2e-3)
    out = COLOUR_TRANSFERS.get("hist")(face, target, mask)
    np.testing.assert_allclose(np.median(out, axis=(0, 1)), np.median(target, axis=(0, 1)), atol=0.01)
    import cv2

    lab = lambda im: cv2.cvtColor(im, cv2.COLOR_RGB2LAB).reshape(-1, 3)  # noqa: E731
    out = COLOUR_TRANSFERS.get("rct")(face, target, mask)
    np.testing.assert_allclose(lab(out).mean(0), lab(target).mean(0), atol=0.5)
    assert np.array_equal(COLOUR_TRANSFERS.get("none")(face, target, mask), face)


def test_chroma_clamp_pulls_a_purple_blotch_onto_dsts_skin_hues_and_leaves_the_rest() -> None:
    """A skin-toned face with a purple patch (a model's lid): the patch's a*b* come back to the edge of the target
    skin's range, its lightness stays, and skin pixels inside the range are untouched."""
    import cv2

    from swaplab.generate.colour import clamp_chroma

    rng = np.random.default_rng(2)
    skin = np.array([0.85, 0.62, 0.52], np.float32)
    target = np.clip(skin + rng.normal(0, 0.015, (48, 48, 3)), 0, 1).astype(np.float32)
    face = np.clip(skin + rng.normal(0, 0.005, (48, 48, 3)), 0, 1).astype(np.float32)
    face[10:18, 10:30] = (0.55, 0.35, 0.6)  # purple
    mask = np.ones((48, 48), np.float32)
    out = clamp_chroma(face, target, mask, 98)
    lab = lambda image: cv2.cvtColor(image, cv2.COLOR_RGB2LAB)  # noqa: E731
    ab_target = lab(target)[..., 1:].reshape(-1, 2)
    before, after = lab(face)[14, 20], lab(out)[14, 20]
    median = np.median(ab_target, axis=0)
    widest = np.linalg.norm(ab_target - median, axis=1).max()  # the target skin's farthest hue
    assert np.linalg.norm(before[1:] - median) > 3 * widest  # the patch's hue lies far outside
    assert np.linalg.norm(after[1:] - median) < 1.1 * widest  # and is pulled back in to the skin's edge
    assert abs(after[0] - before[0]) < 2  # its lightness kept
    np.testing.assert_allclose(out[30:, 30:], face[30:, 30:], atol=2e-3)  # skin within the range untouched
    from swaplab.generate.swap import SwapConfig

    with pytest.raises(SwaplabError, match="chroma-clamp 30"):
        SwapConfig(model=Path("m"), dst=Path("d.mp4"), out=Path("o"), chroma_clamp=30)


def test_match_shading_relights_the_face_as_the_target_is_lit_and_keeps_its_features() -> None:
    """A face lit from the left, moved onto a target lit from the right: its broad slope of lightness becomes the
    target's, its own small features (a dark spot of a few px) and hues stay, and what lies outside the mask (a
    dark background in the target) does not darken the face's edge."""
    import cv2

    from swaplab.generate.colour import match_shading
    from swaplab.generate.swap import SwapConfig

    size, sigma = 64, 4.0
    ramp = np.linspace(0.9, 0.5, size, dtype=np.float32)[None, :, None]
    skin = np.array([0.85, 0.62, 0.52], np.float32)
    face = np.repeat(skin * ramp, size, 0)
    face[30:34, 20:24] *= 0.5  # a small feature of the face's own
    target = np.repeat(skin * ramp[:, ::-1], size, 0)
    target[:, :6] = 0.02  # background beside the face
    mask = np.zeros((size, size), np.float32)
    mask[:, 8:] = 1
    out = match_shading(face, target, mask, sigma)
    lightness = lambda image: cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0]  # noqa: E731
    row = lightness(out)[50]
    np.testing.assert_allclose(row[12:60], lightness(target)[50, 12:60], atol=1.5)  # the target's slope
    spot = lightness(face)[32, 22] - lightness(face)[32, 28]
    assert abs((lightness(out)[32, 22] - lightness(out)[32, 28]) - spot) < 0.25 * abs(spot)  # the feature kept
    ab = lambda image: cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[40, 30, 1:]  # noqa: E731
    np.testing.assert_allclose(ab(out), ab(face), atol=2.5)  # hues kept
    assert match_shading(face, target, mask, sigma, strength=0) is face
    with pytest.raises(SwaplabError, match="shading 1.5"):
        SwapConfig(model=Path("m"), dst=Path("d.mp4"), out=Path("o"), shading=1.5)


def test_blending_pastes_inside_the_mask_only() -> None:
    frame = np.zeros((64, 80, 3), np.uint8)
    face = np.ones((32, 32, 3), np.float32)
    mask = np.zeros((32, 32), np.float32)
    mask[8:24, 8:24] = 1
    matrix = np.array([[1.0, 0, -20], [0, 1.0, -10]])  # crop = frame[10:42, 20:52]
    out, frame_mask = blend_into_frame(frame, face, mask, matrix, "alpha")
    assert out[10 + 16, 20 + 16].tolist() == [255, 255, 255] and out[2, 2].tolist() == [0, 0, 0]
    assert frame_mask.sum() == pytest.approx(256, abs=1)
    textured = (np.indices((64, 80)).sum(0) % 7 * 30).astype(np.uint8)[..., None].repeat(3, 2)
    poisson, _ = blend_into_frame(textured, face * 0.5, mask, matrix, "poisson")
    assert poisson.shape == textured.shape and not np.array_equal(poisson, textured)
    assert shape_mask(mask, 2, 0).sum() < mask.sum() < shape_mask(mask, -2, 0).sum()


def test_sharpening_steepens_an_enlarged_face_and_zero_leaves_it() -> None:
    import cv2

    edge = np.zeros((64, 64, 3), np.float32)
    edge[:, 32:] = 0.8
    soft = cv2.GaussianBlur(edge, (0, 0), 2.0)
    assert sharpen_pasted(soft, 0.0, 4.0) is soft
    sharp = sharpen_pasted(soft, 1.0, 4.0)
    assert cv2.Laplacian(sharp, cv2.CV_32F).var() > 1.5 * cv2.Laplacian(soft, cv2.CV_32F).var()
    assert sharp.min() >= 0 and sharp.max() <= 1
    assert upscale_of(np.array([[0.25, 0, 0], [0, 0.25, 0]])) == pytest.approx(4.0)
    with pytest.raises(SwaplabError, match="sharpen"):
        from swaplab.generate.swap import SwapConfig
        SwapConfig(model=Path("m"), dst=Path("d.mp4"), out=Path("o"), sharpen=9)


def test_filmed_detail_puts_the_frames_fine_texture_on_the_face_box_only() -> None:
    import cv2

    rng = np.random.default_rng(0)
    grain = (128 + rng.normal(0, 20, (80, 96))).clip(0, 255).astype(np.uint8)
    frame = np.repeat(grain[..., None], 3, 2)
    frame[:, 48:] = 200  # a flat right half has no detail to give
    detail = filmed_detail(frame, 4.0)
    assert detail.shape == (80, 96, 1) and abs(float(detail[:, :40].mean())) < 0.01
    assert detail[10:70, 10:40].std() > 0.01 and np.abs(detail[10:70, 60:]).max() < 1e-3
    unbounded = filmed_detail(frame, 4.0, limit=np.inf)
    assert np.abs(detail).max() <= DETAIL_LIMIT < np.abs(unbounded).max()  # strong edges are bounded
    assert not filmed_detail(frame, 4.0, limit=0).any()
    assert np.allclose(detail[np.abs(unbounded) < 1 / 255], unbounded[np.abs(unbounded) < 1 / 255], atol=2e-4)
    smooth = np.full((80, 96, 3), 0.5, np.float32)
    matrix = np.array([[0.5, 0, -5.0], [0, 0.5, -5.0]])  # crop 16 px -> frame box x, y in 10..42
    assert refine_pasted(smooth, frame, matrix, 16) is smooth
    refined = refine_pasted(smooth, frame, matrix, 16, detail=1.0)
    inside, outside = refined[14:38, 14:38], refined[60:, :40]
    assert cv2.Laplacian(inside, cv2.CV_32F).var() > 100 * cv2.Laplacian(smooth[14:38, 14:38], cv2.CV_32F).var() + 1e-3
    assert np.array_equal(outside, smooth[60:, :40]) and refined.min() >= 0 and refined.max() <= 1
    assert np.allclose(inside[..., 0] - 0.5, filmed_detail(frame, 2.0)[14:38, 14:38, 0], atol=1e-5)
    assert refine_pasted(smooth, frame, np.array([[1.0, 0, -5.0], [0, 1.0, -5.0]]), 16, detail=1.0) is smooth
    with pytest.raises(SwaplabError, match="detail"):
        from swaplab.generate.swap import SwapConfig
        SwapConfig(model=Path("m"), dst=Path("d.mp4"), out=Path("o"), detail=3)


def test_ssim_and_augmentation_are_sound() -> None:
    x = torch.rand(2, 3, 32, 32)
    assert torch.allclose(losses.ssim(x, x), torch.ones(2), atol=1e-5)
    assert losses.dssim(x, 1 - x, 5) > 0.3
    a = augment.warp_pair(x, torch.Generator().manual_seed(3))
    b = augment.warp_pair(x, torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], a[1])


def _train(faces: dict[str, Path], out: Path, iterations: int, resume: bool = False, on_step=None) -> dict:
    config = TrainConfig(src=faces["astronaut"], dst=faces["grace_hopper"], out=out, preset="tiny",
                         iterations=iterations, batch_size=4, checkpoint_every=100, preview_every=100,
                         max_faces=40, resume=resume)
    train(config, on_step=on_step)
    return load_checkpoint(out / "model.pt")


def test_interrupted_training_resumes_exactly(sample_faces: dict[str, Path], tmp_path: Path) -> None:
    straight = _train(sample_faces, tmp_path / "straight", 6)

    def stop(iteration: int, _: dict) -> None:
        if iteration == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train(sample_faces, tmp_path / "resumed", 6, on_step=stop)
    assert load_checkpoint(tmp_path / "resumed" / "model.pt")["iteration"] == 3  # saved on Ctrl-C
    resumed = _train(sample_faces, tmp_path / "resumed", 6, resume=True)
    assert resumed["iteration"] == straight["iteration"] == 6
    for name, tensor in straight["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name
    assert [row[2:] for row in resumed["log"]] == [row[2:] for row in straight["log"]]
    with pytest.raises(SwaplabError, match="already holds a model"):
        _train(sample_faces, tmp_path / "straight", 6)


def test_checkpoints_load_safely(tmp_path: Path) -> None:
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(SwaplabError, match="not a swaplab checkpoint"):
        load_checkpoint(bad)
    torch.save({"format": 1, "evil": object()}, bad)
    with pytest.raises(SwaplabError, match="not a swaplab checkpoint"):
        load_checkpoint(bad)  # weights_only=True refuses arbitrary objects


def test_generate_run_end_to_end(tiny_swap: Path, sample_dir: Path) -> None:
    dst = sample_dir / "grace_hopper" / "grace_hopper_01.mp4"
    video = tiny_swap / "swap" / "grace_hopper_01.swapped.mp4"
    info, dst_info = probe(video), probe(dst)
    assert (info.width, info.height, info.fps, info.frame_count) == (dst_info.width, dst_info.height, dst_info.fps,
                                                                     dst_info.frame_count)
    assert info.audio_codec == "aac"
    with av.open(str(video)) as container:
        assert container.metadata["swaplab_synthetic"] == "true" and "SYNTHETIC" in container.metadata["comment"]
    fakes = read_manifest(tiny_swap / "swap" / "fakes" / "faces.csv")
    assert len(fakes) == dst_info.frame_count and {f.label for f in fakes} == {"fake"}
    assert {f.identity for f in fakes} == {"astronaut"} and len({f.generator_run for f in fakes}) == 1
    assert len(list((tiny_swap / "swap" / "masks").glob("*.png"))) == dst_info.frame_count
    sidecar = json.loads((tiny_swap / "swap" / "grace_hopper_01.provenance.json").read_text())
    assert sidecar["synthetic"] is True and sidecar["generator_run"] == fakes[0].generator_run
    quality = json.loads((tiny_swap / "swap" / "quality.json").read_text())
    for key in ("similarity_to_src", "similarity_to_dst", "retrieval_src_share", "pose_found_share", "flicker_ratio",
                "dst_turned_past_src_share"):
        assert np.isfinite(quality[key]), key
    # a 4-iteration model pastes noise over the whole face: no detector may find a face there
    assert np.isfinite(quality["pose_error_iod"]) or quality["pose_found_share"] == 0
    assert (tiny_swap / "model" / "preview.png").is_file() and (tiny_swap / "model" / "losses.csv").is_file()
    # dst's landmarks are smoothed for the paste; src's faces only train the model
    smooth = {side: json.loads((tiny_swap / side / "extract_config.json").read_text())["config"]["smooth"]
              for side in ("src_faces", "dst_faces")}
    assert smooth == {"src_faces": 0, "dst_faces": pipeline.DST_SMOOTH}
    assert {r.landmark_source for r in read_manifest(tiny_swap / "dst_faces" / "faces.csv") if r.has_face} == {"smoothed"}


def test_presets_are_valid() -> None:
    for spec in PRESETS.values():
        assert spec.resolution % 16 == 0


@pytest.mark.parametrize("arch", ["df", "liae", "original"])
def test_reconstructing_both_sides_in_one_pass_equals_one_side_at_a_time(arch: str) -> None:
    torch.manual_seed(0)
    model = build_model(ModelSpec(arch, 64, 8, 32, 8)).eval()
    src, dst = torch.rand(3, 3, 64, 64), torch.rand(2, 3, 64, 64)
    both = model.reconstruct_both(src, dst)
    alone = (model.reconstruct(src, "src"), model.reconstruct(dst, "dst"))
    for (face, mask), (alone_face, alone_mask) in zip(both, alone, strict=True):
        torch.testing.assert_close(face, alone_face)
        torch.testing.assert_close(mask, alone_mask)
    assert both[0][0].shape == (3, 3, 64, 64) and both[1][1].shape == (2, 1, 64, 64)


def test_mouth_interior_mask_covers_an_open_mouth_only() -> None:
    from swaplab.faces import mesh
    from swaplab.generate.faceset import mouth_interior_mask

    dense = np.zeros((mesh.N_POINTS, 2))
    angles = np.linspace(0, 2 * np.pi, len(mesh.LIPS_INNER), endpoint=False)
    for height, expected in ((8.0, True), (0.0, False)):  # lips 8 px apart, then closed
        dense[list(mesh.LIPS_INNER)] = np.stack([32 + 10 * np.cos(angles), 44 + height * np.sin(angles)], axis=1)
        mask = mouth_interior_mask(dense, 64)
        assert mask.shape == (64, 64) and mask.dtype == np.float32
        assert (mask[44, 32] > 0.9) == expected and mask[10, 10] == 0 and mask.max() <= 1


def test_kept_mouth_opening_stays_inside_the_inner_lip_line() -> None:
    """dst's mouth opening is cut out of the shaped mask with a crisp edge: the lips around it stay the swap's
    (cut before the mask's blur, the opening grew over them and dst's lips showed beside the model's)."""
    from swaplab.faces import mesh
    from swaplab.generate.blend import shape_mask
    from swaplab.generate.swap import dst_kept_regions

    dense = np.zeros((mesh.N_POINTS, 2))
    angles = np.linspace(0, 2 * np.pi, len(mesh.LIPS_INNER), endpoint=False)
    dense[list(mesh.LIPS_INNER)] = np.stack([128 + 40 * np.cos(angles), 176 + 24 * np.sin(angles)], axis=1)
    shaped = shape_mask(np.ones((256, 256), np.float32), 4, 12)
    mask = shaped * (1 - dst_kept_regions(dense, 256, mouth=True, eyes=False, lips=False))
    assert mask[176, 128] < 0.01  # the opening is dst's
    assert mask[176 - 24 - 6, 128] > 0.95 * shaped[176 - 24 - 6, 128]  # 6 px above the inner lip: the swap's lip
    assert mask[176 + 24 + 6, 128] > 0.95 * shaped[176 + 24 + 6, 128]
    assert mask[176 - 24 + 6, 128] < 0.05  # 6 px inside it: dst's opening


def drawn_eye_rings(dense: np.ndarray, height: float) -> None:
    """Place both Face Mesh eye contours as ellipses 24 px wide and ``height`` px tall (0: shut) in a 128 px crop."""
    from swaplab.faces import mesh

    angles = np.linspace(0, 2 * np.pi, len(mesh.RIGHT_EYE), endpoint=False)
    for ring, centre in ((mesh.RIGHT_EYE, 40.0), (mesh.LEFT_EYE, 88.0)):
        dense[list(ring)] = np.stack([centre + 12 * np.cos(angles), 56 + height / 2 * np.sin(angles)], axis=1)


def test_eye_openings_mask_covers_open_eyes_only() -> None:
    from swaplab.faces import mesh
    from swaplab.generate.faceset import eye_openings_mask

    dense = np.zeros((mesh.N_POINTS, 2))
    for height in (10.0, 2.0, 0.0):  # eyes open, shutting (1/12 of their width), then shut
        drawn_eye_rings(dense, height)
        mask = eye_openings_mask(dense, 128)
        assert mask.shape == (128, 128) and mask.dtype == np.float32 and mask.max() <= 1
        if height > 2:
            assert mask[56, 40] > 0.9 and mask[56, 88] > 0.9
            assert mask[56, 64] == 0 and mask[30, 40] == 0  # between the eyes, the brow
        else:  # not even the outline's anti-aliased line of dst's lid margin
            assert mask.max() < 0.01, height


def test_kept_eyes_are_dsts_inside_the_lid_margins_and_the_swaps_outside() -> None:
    from swaplab.faces import mesh
    from swaplab.generate.blend import shape_mask
    from swaplab.generate.swap import dst_kept_regions

    dense = np.zeros((mesh.N_POINTS, 2))
    drawn_eye_rings(dense, 12.0)
    shaped = shape_mask(np.ones((128, 128), np.float32), 2, 6)
    mask = shaped * (1 - dst_kept_regions(dense, 128, mouth=False, eyes=True, lips=False))
    assert mask[56, 40] < 0.01 and mask[56, 88] < 0.01  # the openings are dst's
    assert mask[56 - 6 - 3, 40] > 0.95 * shaped[56 - 6 - 3, 40]  # 3 px above the upper lid margin: the swap's lid
    assert mask[56 + 6 + 3, 88] > 0.95 * shaped[56 + 6 + 3, 88]
    assert mask[56, 64] == shaped[56, 64]


def test_shut_eye_weights_are_one_when_shut_or_narrowed_zero_when_open_and_linear_between() -> None:
    from swaplab.faces import mesh
    from swaplab.generate.faceset import shut_eye_weights

    dense = np.zeros((mesh.N_POINTS, 2))
    for height, fill in ((0.0, 0.0), (10.0, np.pi * 12 * 5 / 24**2)):  # an ellipse's area over its width squared
        drawn_eye_rings(dense, height)
        assert mesh.eye_fills(dense) == pytest.approx([fill, fill], rel=0.03)
    polygon = len(mesh.RIGHT_EYE) / 2 * np.sin(2 * np.pi / len(mesh.RIGHT_EYE))  # its area over a * b (pi, nearly)
    for fill, expected in ((0.0, 1.0), (0.05, 1.0), (0.08, 1.0), (0.1, 0.5), (0.12, 0.0), (0.3, 0.0)):
        drawn_eye_rings(dense, fill * 24**2 / (polygon * 6))  # a ring 24 px wide that fills ``fill``
        assert shut_eye_weights(dense) == pytest.approx([expected] * 2, abs=1e-6), fill


def test_shut_eyes_are_dsts_with_their_lids_and_open_eyes_stay_the_swaps() -> None:
    """A shut eye keeps dst's lids and lashes, grown by SHUT_EYE_GROW over the open eye the model draws there; an
    open one only its opening (the lids the swap's); one between, partly."""
    from swaplab.faces import mesh
    from swaplab.generate.blend import shape_mask
    from swaplab.generate.faceset import shut_eye_weights
    from swaplab.generate.swap import SHUT_EYE_EDGE, SHUT_EYE_GROW, dst_kept_regions

    dense = np.zeros((mesh.N_POINTS, 2))
    shaped = shape_mask(np.ones((128, 128), np.float32), 2, 6)
    grow, edge = round(SHUT_EYE_GROW * 128), round(3 * SHUT_EYE_EDGE * 128)  # the rim, and three sigmas of its edge
    drawn_eye_rings(dense, 0.0)
    shut = shaped * (1 - dst_kept_regions(dense, 128, mouth=False, eyes=True, lips=False))
    assert shut[56, 40] < 0.01 and shut[56, 88] < 0.01  # dst's shut lids
    assert shut[56 - grow + 1, 40] < 0.5 * shaped[56 - grow + 1, 40]  # and the rim above them
    assert shut[56 - grow - edge, 40] > 0.95 * shaped[56 - grow - edge, 40]  # the swap's skin above
    assert shut[56, 64] > 0.95 * shaped[56, 64]  # and between the eyes
    drawn_eye_rings(dense, 10.0)  # open: only the opening is dst's
    opened = shaped * (1 - dst_kept_regions(dense, 128, mouth=False, eyes=True, lips=False))
    assert opened[56, 40] < 0.01 and opened[56 - 5 - 3, 40] > 0.95 * shaped[56 - 5 - 3, 40]
    drawn_eye_rings(dense, 3.0)  # between (fill 0.096): its opening dst's, its lids in part the swap's
    weight = shut_eye_weights(dense)[0]
    half = shaped * (1 - dst_kept_regions(dense, 128, mouth=False, eyes=True, lips=False))
    lid = 56 - 3  # 1.5 px above the upper lid margin, 2.5 px inside the rim
    assert 0.3 < weight < 0.7 and half[56, 40] < 0.01
    assert half[lid, 40] == pytest.approx((1 - weight) * shaped[lid, 40], abs=0.05)
    unkept = shaped * (1 - dst_kept_regions(dense, 128, mouth=False, eyes=False, lips=False))
    assert np.array_equal(unkept, shaped)


def drawn_lips(dense: np.ndarray, gap: float) -> None:
    """Place the Face Mesh lip contours in a 128 px crop whose eyes (:func:`drawn_eye_rings`) lie 48 px apart:
    outer lips an ellipse 40 px wide and 16 px tall around (64, 96), the inner lips ``gap`` px apart."""
    from swaplab.faces import mesh

    for ring, half_height in ((mesh.LIPS_OUTER, 8.0), (mesh.LIPS_INNER, gap / 2)):
        angles = np.linspace(np.pi, 3 * np.pi, len(ring), endpoint=False)  # from the corner 61/78, round
        dense[list(ring)] = np.stack([64 + (20 if ring is mesh.LIPS_OUTER else 16) * np.cos(angles),
                                      96 + half_height * np.sin(angles)], axis=1)
    dense[mesh.LIP_UPPER_INNER], dense[mesh.LIP_LOWER_INNER] = (64, 96 - gap / 2), (64, 96 + gap / 2)


def test_mouth_closure_is_one_when_closed_zero_when_open_and_linear_between() -> None:
    from swaplab.faces import mesh

    dense = np.zeros((mesh.N_POINTS, 2))
    drawn_eye_rings(dense, 10.0)
    for gap_iod, expected in ((0.0, 1.0), (0.02, 1.0), (0.03, 0.5), (0.04, 0.0), (0.2, 0.0)):
        drawn_lips(dense, gap_iod * 48)
        assert mesh.mouth_openings(dense)[0] == pytest.approx(gap_iod)
        assert mesh.mouth_closure(dense) == pytest.approx(expected, abs=1e-6), gap_iod


def test_grown_mask_grows_by_a_fraction_of_a_pixel_too() -> None:
    from swaplab.generate.faceset import grown

    mask = np.zeros((32, 32), np.float32)
    mask[10:20, 10:20] = 1
    assert np.array_equal(grown(mask, 0), mask)
    assert grown(mask, 2)[15, 21] == 1 and grown(mask, 2)[15, 22] == 0  # 2 px out, not 3
    assert grown(mask, 0.5)[15, 20] == pytest.approx(0.5) and grown(mask, 2)[10:20, 10:20].min() == 1


def test_closed_lips_are_dsts_and_open_lips_stay_the_swaps() -> None:
    """A closed mouth keeps dst's lips, grown by LIPS_GROW over the rim of a larger mouth the model draws; an
    open one only its opening, the lips around it the swap's."""
    from swaplab.faces import mesh
    from swaplab.generate.blend import shape_mask
    from swaplab.generate.swap import LIPS_EDGE, LIPS_GROW, dst_kept_regions

    dense = np.zeros((mesh.N_POINTS, 2))
    drawn_eye_rings(dense, 10.0)
    shaped = shape_mask(np.ones((128, 128), np.float32), 2, 6)
    grow, edge = round(LIPS_GROW * 128), round(3 * LIPS_EDGE * 128)  # the rim, and three sigmas of its edge
    drawn_lips(dense, 0.0)
    closed = shaped * (1 - dst_kept_regions(dense, 128, mouth=True, eyes=False, lips=True))
    assert closed[96, 64] < 0.01 and closed[96 - 7, 64] < 0.05  # dst's lips, inside the outer lip line
    assert closed[96 - 8 - grow + 1, 64] < 0.5 * shaped[96 - 8 - grow + 1, 64]  # and its rim outside it
    assert closed[96 - 8 - grow - edge, 64] > 0.95 * shaped[96 - 8 - grow - edge, 64]  # the swap's skin above
    assert closed[96, 64 + 20 + grow + edge] > 0.95 * shaped[96, 64 + 20 + grow + edge]  # and beside the corners
    unkept = shaped * (1 - dst_kept_regions(dense, 128, mouth=True, eyes=False, lips=False))
    assert unkept[96 - 7, 64] > 0.95 * shaped[96 - 7, 64]  # without keep_lips the closed lips are the swap's
    drawn_lips(dense, 0.2 * 48)  # open wide: the opening is dst's, the lips the swap's
    opened = shaped * (1 - dst_kept_regions(dense, 128, mouth=True, eyes=False, lips=True))
    assert opened[96, 64] < 0.05 and opened[96 - 7, 64] > 0.9 * shaped[96 - 7, 64]


def test_eye_openings_of_a_real_face_hold_its_irises(media: Path) -> None:
    """On real faces (lp_s18 and vr_2, Face Mesh on a real frame) the opening holds both iris centres and fills
    each eye's outline: a ring drawn out of order would cross itself and leave part of its eye out."""
    import cv2

    from swaplab.faces import mesh
    from swaplab.generate.faceset import eye_openings_mask

    face_mesh = mesh.FaceMesh()
    try:
        for video, box in (("lp_s18", (594, 65, 954, 425)), ("vr_2", (150, 170, 630, 650))):
            capture = cv2.VideoCapture(str(media / "talking" / f"{video}.mp4"))
            ok, image = capture.read()
            capture.release()
            assert ok
            x0, y0, x1, y1 = box
            crop = cv2.cvtColor(cv2.resize(image[y0:y1, x0:x1], (256, 256), interpolation=cv2.INTER_AREA),
                                cv2.COLOR_BGR2RGB)
            points = face_mesh.crop_landmarks(crop)
            assert points is not None, video
            mask = eye_openings_mask(points[:, :2], 256, 0)
            for iris in (468, 473):  # the iris centres of the refined mesh
                x, y = np.round(points[iris, :2]).astype(int)
                assert mask[y, x] > 0.99, (video, iris)
            hulls = sum(cv2.contourArea(cv2.convexHull(points[list(ring), :2].astype(np.float32)))
                        for ring in (mesh.RIGHT_EYE, mesh.LEFT_EYE))
            assert 0.9 * hulls < mask.sum() < 1.3 * hulls, (video, mask.sum(), hulls)  # each ring fills its eye (and its edge)
            assert 0.002 < mask.mean() < 0.03, video  # two eyes: well under 3 % of the crop
    finally:
        face_mesh.close()


def test_closed_lips_of_a_real_face_are_kept_whole(media: Path) -> None:
    """lp_s18 keeps its lips closed (inner-lip gap 0.002 IOD): the kept region covers both lips, their midpoints
    and corners, and a rim of LIPS_GROW around their outline (its area), off the nose tip and chin."""
    import cv2

    from swaplab.faces import mesh
    from swaplab.generate.faceset import closed_lips_mask
    from swaplab.generate.swap import LIPS_EDGE, LIPS_GROW

    face_mesh = mesh.FaceMesh()
    try:
        capture = cv2.VideoCapture(str(media / "talking" / "lp_s18.mp4"))
        ok, image = capture.read()
        capture.release()
        assert ok
        crop = cv2.cvtColor(cv2.resize(image[65:425, 594:954], (256, 256), interpolation=cv2.INTER_AREA),
                            cv2.COLOR_BGR2RGB)
        points = face_mesh.crop_landmarks(crop)
    finally:
        face_mesh.close()
    assert points is not None
    points = points[:, :2]
    assert mesh.mouth_closure(points) == 1.0
    mask = closed_lips_mask(points, 256, LIPS_GROW * 256, LIPS_EDGE * 256)
    for index in (mesh.LIP_UPPER_OUTER, mesh.LIP_LOWER_OUTER, mesh.MOUTH_LEFT, mesh.MOUTH_RIGHT, mesh.LIP_UPPER_INNER):
        x, y = np.round(points[index]).astype(int)
        assert mask[y, x] > 0.5, index
    for index, most in ((1, 0.05), (152, 0.01)):  # the nose tip (the rim's soft edge reaches it) and the chin
        x, y = np.round(points[index]).astype(int)
        assert mask[y, x] < most, index
    outline, grow = points[list(mesh.LIPS_OUTER)].astype(np.float32), LIPS_GROW * 256
    grown = cv2.contourArea(outline) + cv2.arcLength(outline, True) * grow + np.pi * grow**2  # Steiner: a rim all round
    assert 0.85 * grown < mask.sum() < 1.15 * grown


def test_dst_mesh_is_moved_into_the_enlarged_crop_through_the_frame() -> None:
    """The 256 px crop of a 64 px model is offset by 1.5 px from the 256 px face-set crop: points follow it."""
    from swaplab.faces import align
    from swaplab.generate.exemplar import enlarged_matrix
    from swaplab.generate.swap import crop_points

    record_matrix = np.array([[0.62, -0.03, -330.0], [0.03, 0.62, -30.0]])  # frame -> 256 px face-set crop
    model_matrix = record_matrix * (64 / 256)
    detail_matrix = enlarged_matrix(model_matrix, 64, 256)
    frame_points = np.array([[700.0, 220.0], [800.0, 330.0]])
    found = align.apply(record_matrix, frame_points)
    assert np.allclose(crop_points(found, record_matrix, detail_matrix), align.apply(detail_matrix, frame_points))
    assert np.allclose(crop_points(found, record_matrix, detail_matrix), found + 1.5)
    assert np.allclose(crop_points(found, record_matrix, model_matrix), found / 4)
    assert crop_points(None, record_matrix, detail_matrix) is None


def test_paste_masks_follow_dsts_mesh_the_decoder_or_the_template() -> None:
    from swaplab.faces import mesh
    from swaplab.generate.faceset import mesh_face_mask
    from swaplab.generate.swap import MASKS, paste_mask

    dense = np.zeros((mesh.N_POINTS, 2))
    angles = np.linspace(0, 2 * np.pi, len(mesh.FACE_OVAL), endpoint=False)
    dense[list(mesh.FACE_OVAL)] = np.stack([32 + 20 * np.cos(angles), 32 + 24 * np.sin(angles)], axis=1)
    predicted = np.zeros((64, 64), np.float32)
    predicted[:40] = 1.2  # the decoder draws no face below row 40 (and overshoots 1 above it)
    template = np.full((64, 64), 0.5, np.float32)
    hull = mesh_face_mask(dense, 64)
    masks = {kind: paste_mask(kind, dense, predicted, template) for kind in MASKS}
    np.testing.assert_array_equal(masks["mesh"], hull)
    np.testing.assert_array_equal(masks["mesh-predicted"][:40], hull[:40])  # predicted clipped to 1
    assert masks["mesh-predicted"][40:].max() == 0 and hull[40:].max() == 1  # none of dst's chin pasted
    assert masks["predicted"] is predicted and masks["template"] is template
    for kind in ("mesh", "mesh-predicted"):  # no mesh found: the decoder's mask
        assert paste_mask(kind, None, predicted, template) is predicted
