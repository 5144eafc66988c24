"""``swaplab generate ...``"""

import json
from pathlib import Path

import typer

from swaplab.core.cli_support import friendly_errors, new_app
from swaplab.core.config import build_config
from swaplab.datasets.outputs import ExtractOutput
from swaplab.faces import extract, selection
from swaplab.generate import pipeline, pretrain, quality, swap, tier, train
from swaplab.generate.colour import COLOUR_TRANSFERS
from swaplab.generate.models import SWAP_MODELS

app = new_app("Face-swap generation: extract faces, train, swap, composite.")

MATCH_POSE_HELP = ("Share of src's training faces (and mirror images) drawn by how often dst turns its head their "
                   "way, 0-1; 0 = all alike (default: 0.5 when more than 20% of dst's faces turn further than "
                   "any src face, else 0).")
SRC_DETAIL_HELP = ("Cap of the gain of the pasted person's own filmed detail (lids, lashes, lip lines, pores from "
                   "their nearest face, warped onto the swap), 0-2; the gain stops at dst's own sharpness "
                   "(default: 1.5; 0: none).")
TEMPORAL_HELP = ("Weight of the previous frame, carried along dst's own motion, in the swapped face's soft "
                 "(low-frequency) part: a steadier face; its fine detail stays as rendered, 0-0.99 "
                 "(default: 0.8; 0: each frame on its own).")

FEATURE_FIT_HELP = ("Share of the shift, turn and scale that moves the swapped face's eyes, brows, nose and lips "
                    "onto dst's (Face Mesh), 0-1 (default: 0.5; 0: none).")
KEEP_EYES_HELP = ("Leave dst's own eye openings (iris, whites, catchlights, inside the lid margins of dst's Face Mesh) "
                  "in place of the model's, which renders them soft, and dst's shut eyes with their lids, where the "
                  "model draws src's open eyes (with the mesh mask, the default; default: on).")
CHROMA_CLAMP_HELP = ("Pull the swapped face's hues into dst's own range (CIELAB a*b*, out to this percentile of "
                     "dst's skin; a model's purple lids and nostrils), 50-100, or 0 for none (default: 98).")
SHADING_HELP = ("Share of the swapped face's broad light and shadow moved onto dst's (CIELAB lightness below a "
                "Gaussian of 1/16 of the face crop: src's lit chin or shadowed eye sockets relit as dst is lit), "
                "0-1 (default: 0, none; at 1 both FR judges' similarities to src fell on models trained without "
                "--identity-weight).")
KEEP_LIPS_HELP = ("Leave dst's own lips where its mouth is closed (Face Mesh inner-lip gap), in place of the parted, "
                  "dark mouth a model of a talking src draws over them (with the mesh mask; default: on).")


@app.command("extract")
@friendly_errors
def extract_command(
    inputs: list[Path] = typer.Argument(..., help="Videos, images or folders of images."),
    out: Path = typer.Option(..., "--out", help="Output folder for crops and faces.csv."),
    identity: str = typer.Option(None, help="Identity label (default: each input's name)."),
    crop_size: int = typer.Option(None, help="Crop side: 64, 96, 128, 160 or 256 (default: 256)."),
    face_type: str = typer.Option(None, help="face, whole_face or head (default: whole_face)."),
    detect_every: int = typer.Option(None, help="Full detection every k-th frame, tracking between (default: 4)."),
    smooth: int = typer.Option(None, help="Landmark smoothing window in frames, 0 = off (default: 0)."),
    identity_ref: list[Path] = typer.Option(None, help="Image or folder of the person to keep (repeatable)."),
    exclude_ref: list[Path] = typer.Option(None, help="Image or folder of a person to leave out (repeatable)."),
    faces: str = typer.Option(None, help="Whose faces to keep: largest (the identity seen most), ref or all "
                                           "(default: ref with --identity-ref, else largest)."),
    ref_threshold: float = typer.Option(None, help="Cosine distance to a reference that counts as a match."),
    cluster_threshold: float = typer.Option(None, help="Cosine distance that joins tracks into one identity."),
    min_identity_width: float = typer.Option(None, help="Tracks of faces narrower than this (px) stay clusters of "
                                                        "their own: too small to identify (default: 32)."),
    min_identity_norm: float = typer.Option(None, help="Tracks whose median FaceNet feature norm is below this "
                                                       "stay clusters of their own: too blurred, occluded or not a "
                                                       "face to identify (default: 20)."),
    min_face_score: float = typer.Option(None, help="A track is taken for a face when MTCNN scored a face of it at "
                                                    "least this, or FaceNet can identify it; an input without one "
                                                    "has no face (default: 0.95)."),
    mesh: bool = typer.Option(None, "--mesh/--no-mesh", help="Store 478-point Face Mesh landmarks (default: on)."),
    max_frames: int = typer.Option(None, help="Stop each input after this many frames (default: all)."),
    min_face_size: int = typer.Option(None, help="Smallest face in pixels (default: 40)."),
    device: str = typer.Option(None, help="auto, cpu or cuda (default: auto)."),
    config: Path = typer.Option(None, "--config", help="JSON file with these settings."),
) -> None:
    """Detect, track, cluster, align and crop every face; write crops, manifests and contact sheets."""
    cfg = build_config(extract.ExtractConfig, config, inputs=tuple(inputs), out=out, identity=identity,
                       crop_size=crop_size, face_type=face_type, detect_every=detect_every, smooth=smooth,
                       identity_ref=tuple(identity_ref or ()) or None, exclude_ref=tuple(exclude_ref or ()) or None,
                       faces=faces, ref_threshold=ref_threshold, cluster_threshold=cluster_threshold,
                       min_identity_width=min_identity_width,
                       min_identity_norm=min_identity_norm, min_face_score=min_face_score, mesh=mesh,
                       max_frames=max_frames,
                       min_face_size=min_face_size, device=device)
    output = extract.run_extract(cfg)
    counts = extract.describe(output)
    typer.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
    typer.echo(f"contact sheets and clusters.csv in {output.clusters}")
    typer.echo(f"manifest written to {output.manifest}")


@app.command("train")
@friendly_errors
def train_command(
    src: list[Path] = typer.Option(..., help="Face manifest of src (the identity pasted in); repeat for more."),
    dst: list[Path] = typer.Option(..., help="Face manifest of dst (the video that receives it); repeat for more."),
    out: Path = typer.Option(..., "--out", help="Model folder."),
    preset: str = typer.Option(None, help="lq (64 px), hq (128 px) or tiny (default: lq)."),
    arch: str = typer.Option(None, help=f"Architecture: {', '.join(SWAP_MODELS.names())} (default: the preset's)."),
    resolution: int = typer.Option(None, help="Resolution in px, a multiple of 16 (default: the preset's)."),
    iterations: int = typer.Option(None, help="Iteration cap (default: 2000, none when --minutes is given)."),
    minutes: float = typer.Option(None, help="Training time in minutes, resumed runs included (default: none)."),
    batch_size: int = typer.Option(None, help="Faces per side per step (default: 8)."),
    precision: str = typer.Option(None, help="auto, fp32 or bf16 (default: auto)."),
    seed: int = typer.Option(None, help="Seed (default: 0)."),
    pretrained: Path = typer.Option(None, help="pretrained.pt from `generate pretrain` to start from, "
                                                "or builtin (the model shipped for --preset)."),
    identity_weight: float = typer.Option(None, help="Weight of the identity loss (FaceNet cosine of the swap to "
                                                     "src; then FaceNet no longer judges blindly), 0 = off "
                                                     "(default: 0)."),
    match_pose: float = typer.Option(None, help=MATCH_POSE_HELP),
    resume: bool = typer.Option(False, "--resume", help="Continue the checkpoint in --out exactly."),
    device: str = typer.Option(None, help="auto, cpu or cuda (default: auto)."),
    config: Path = typer.Option(None, "--config", help="JSON file with these settings."),
) -> None:
    """Train a shared-encoder / per-identity-decoder swap model (headless, resumable)."""
    cfg = build_config(train.TrainConfig, config, src=tuple(src), dst=tuple(dst), out=out, preset=preset, arch=arch,
                       resolution=resolution, iterations=iterations, minutes=minutes, batch_size=batch_size,
                       precision=precision, seed=seed, pretrained=pretrained, identity_weight=identity_weight,
                       match_pose=match_pose, resume=resume or None, device=device)
    typer.echo(f"checkpoint written to {train.run(cfg).checkpoint}")


@app.command("pretrain")
@friendly_errors
def pretrain_command(
    faces: list[Path] = typer.Argument(None, help="Face manifests of many people (not the pairs to swap)."),
    out: Path = typer.Option(..., "--out", help="Pretraining folder."),
    pool: Path = typer.Option(None, help="pool.pt of an earlier pretraining instead of manifests."),
    preset: str = typer.Option(None, help="lq (64 px) or hq (128 px) (default: lq)."),
    iterations: int = typer.Option(None, help="Iteration cap (default: 2000, none when --minutes is given)."),
    minutes: float = typer.Option(None, help="Training time in minutes, resumed runs included."),
    batch_size: int = typer.Option(None, help="Faces per side per step (default: 32)."),
    per_manifest: int = typer.Option(None, help="Faces kept per manifest, spread evenly (default: 300)."),
    pool_resolution: int = typer.Option(None, help="Pixel size the pool keeps (default: 128)."),
    precision: str = typer.Option(None, help="auto, fp32 or bf16 (default: auto)."),
    seed: int = typer.Option(None, help="Seed (default: 0)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the pretraining in --out."),
    device: str = typer.Option(None, help="auto, cpu or cuda (default: auto)."),
    config: Path = typer.Option(None, "--config", help="JSON file with these settings."),
) -> None:
    """Pretrain a generic swap model on the faces of many people (fine-tune it with train --pretrained)."""
    cfg = build_config(pretrain.PretrainConfig, config, out=out, faces=tuple(faces) if faces else None, pool=pool, preset=preset,
                       iterations=iterations, minutes=minutes, batch_size=batch_size, per_manifest=per_manifest,
                       pool_resolution=pool_resolution, precision=precision, seed=seed, resume=resume or None,
                       device=device)
    typer.echo(f"pretrained model written to {pretrain.run(cfg).pretrained}")


@app.command("swap")
@friendly_errors
def swap_command(
    model: Path = typer.Option(..., help="Model folder from `generate train`."),
    dst: Path = typer.Option(..., help="The video that receives src's face."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    dst_faces: Path = typer.Option(None, help="dst's face manifest from `generate extract` (default: extract here)."),
    dst_ref: Path = typer.Option(None, help="Image of the person to replace when dst shows several (extracting here)."),
    colour: str = typer.Option(None, help=f"Colour transfer: {', '.join(COLOUR_TRANSFERS.names())} (default: rct)."),
    blend: str = typer.Option(None, help="alpha or poisson (default: alpha)."),
    mask: str = typer.Option(None, help=f"{', '.join(swap.MASKS)} (default: mesh)."),
    mask_erode: int = typer.Option(None, help="Mask erosion in px at model resolution (default: 1)."),
    mask_blur: int = typer.Option(None, help="Mask blur in px at model resolution (default: 3)."),
    sharpen: float = typer.Option(None, help="Unsharp-mask amount on the face enlarged into the frame, 0-4 "
                                             "(default: 0)."),
    detail: float = typer.Option(None, help="Weight of dst's own fine texture (pores, grain; strong edges "
                                            "bounded) added to the enlarged face, 0-2 (default: 1; 0: none)."),
    keep_mouth: bool = typer.Option(None, "--keep-mouth/--no-keep-mouth", help="Leave dst's own mouth opening "
                                    "(teeth, tongue) in place of the model's (mesh mask; default: on)."),
    keep_eyes: bool = typer.Option(None, "--keep-eyes/--no-keep-eyes", help=KEEP_EYES_HELP),
    keep_lips: bool = typer.Option(None, "--keep-lips/--no-keep-lips", help=KEEP_LIPS_HELP),
    chroma_clamp: float = typer.Option(None, help=CHROMA_CLAMP_HELP),
    shading: float = typer.Option(None, help=SHADING_HELP),
    src_detail: float = typer.Option(None, help=SRC_DETAIL_HELP),
    temporal: float = typer.Option(None, help=TEMPORAL_HELP),
    feature_fit: float = typer.Option(None, help=FEATURE_FIT_HELP),
    src_faces: list[Path] = typer.Option(None, help="Face manifest of the person pasted in, whose filmed detail "
                                                    "the face gets; repeat for more (default: the face set the "
                                                    "model was trained on)."),
    watermark: bool = typer.Option(False, "--watermark", help="Draw a visible SYNTHETIC mark."),
    into: str = typer.Option(None, help="src: the video gets src's face; dst: the reverse (default: src)."),
    device: str = typer.Option(None, help="auto, cpu or cuda (default: auto)."),
    config: Path = typer.Option(None, "--config", help="JSON file with these settings."),
) -> None:
    """Swap src's face into every frame of dst and composite the video with dst's audio."""
    cfg = build_config(swap.SwapConfig, config, model=model, dst=dst, out=out, dst_faces=dst_faces, dst_ref=dst_ref,
                       colour=colour, blend=blend, mask=mask, mask_erode=mask_erode, mask_blur=mask_blur,
                       sharpen=sharpen, detail=detail, keep_mouth=keep_mouth, keep_eyes=keep_eyes,
                       keep_lips=keep_lips, chroma_clamp=chroma_clamp, shading=shading, src_detail=src_detail,
                       temporal=temporal, feature_fit=feature_fit,
                       src_faces=tuple(src_faces) if src_faces else None,
                       watermark=watermark or None, into=into, device=device)
    typer.echo(f"swapped video written to {swap.run(cfg).video}")


@app.command("run")
@friendly_errors
def run_command(
    src: list[Path] = typer.Option(..., help="Video or photo folder of src (pasted in); repeat for more."),
    dst: list[Path] = typer.Option(..., help="Video or photo folder of dst; repeat for more. The first video "
                                             "receives src's face."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    dst_ref: Path = typer.Option(None, help="Image of the dst person to replace when several people show."),
    preset: str = typer.Option(None, help="lq (64 px), hq (128 px) or auto: hq where lq would enlarge dst's face "
                                          f"more than {tier.HQ_FROM_ENLARGEMENT:g}x, --pretrained is given, "
                                          "--iterations is not, and "
                                          f"--minutes leaves hq {tier.HQ_MIN_ITERATIONS} iterations at this "
                                          "hardware's measured rate; a resumed model or a --pretrained file "
                                          "keeps its tier; "
                                          "else lq (default: auto; tier.json says why)."),
    iterations: int = typer.Option(None, help="Iteration cap (default: 2000, none when --minutes is given)."),
    minutes: float = typer.Option(None, help="Time budget of the whole run (extract, train, swap) in minutes."),
    watermark: bool = typer.Option(False, "--watermark", help="Draw a visible SYNTHETIC mark."),
    pretrained: Path = typer.Option(None, help="pretrained.pt from `generate pretrain` to start from, "
                                                "or builtin (the model shipped for the tier)."),
    identity_weight: float = typer.Option(None, help="Weight of the identity loss (FaceNet cosine of the swap to "
                                                     "src; then FaceNet no longer judges blindly), 0 = off "
                                                     "(default: 0)."),
    match_pose: float = typer.Option(None, help=MATCH_POSE_HELP),
    sharpen: float = typer.Option(None, help="Unsharp-mask amount on the face enlarged into the frame, 0-4 "
                                             "(default: 0)."),
    detail: float = typer.Option(None, help="Weight of dst's own fine texture (pores, grain; strong edges "
                                            "bounded) added to the enlarged face, 0-2 (default: 1; 0: none)."),
    keep_mouth: bool = typer.Option(None, "--keep-mouth/--no-keep-mouth", help="Leave dst's own mouth opening "
                                    "(teeth, tongue) in place of the model's (default: on)."),
    keep_eyes: bool = typer.Option(None, "--keep-eyes/--no-keep-eyes", help=KEEP_EYES_HELP),
    keep_lips: bool = typer.Option(None, "--keep-lips/--no-keep-lips", help=KEEP_LIPS_HELP),
    chroma_clamp: float = typer.Option(None, help=CHROMA_CLAMP_HELP),
    shading: float = typer.Option(None, help=SHADING_HELP),
    src_detail: float = typer.Option(None, help=SRC_DETAIL_HELP),
    temporal: float = typer.Option(None, help=TEMPORAL_HELP),
    feature_fit: float = typer.Option(None, help=FEATURE_FIT_HELP),
    smooth: int = typer.Option(None, help=f"Landmark smoothing window of dst's extraction in frames, 0 = off "
                                          f"(default: {pipeline.DST_SMOOTH})."),
    seed: int = typer.Option(None, help="Seed (default: 0)."),
    device: str = typer.Option(None, help="auto, cpu or cuda (default: auto)."),
    config: Path = typer.Option(None, "--config", help="JSON file with these settings."),
) -> None:
    """Extract, train, swap and composite in one go; run it again to resume."""
    cfg = build_config(pipeline.PipelineConfig, config, src=tuple(src), dst=tuple(dst), out=out, dst_ref=dst_ref,
                       preset=preset, iterations=iterations, minutes=minutes, watermark=watermark or None,
                       pretrained=pretrained, identity_weight=identity_weight, match_pose=match_pose,
                       sharpen=sharpen, detail=detail, keep_mouth=keep_mouth, keep_eyes=keep_eyes,
                       keep_lips=keep_lips, chroma_clamp=chroma_clamp, shading=shading, src_detail=src_detail,
                       temporal=temporal, feature_fit=feature_fit, smooth=smooth, seed=seed, device=device)
    output = pipeline.run(cfg, on_tier=lambda choice: typer.echo(f"tier: {choice.preset} ({choice.reason})"))
    typer.echo(f"swapped video written to {output.video}")
    for line in quality.warnings(json.loads(output.quality.read_text())):
        typer.echo(f"warning: {line}", err=True)


@app.command("select")
@friendly_errors
def select_command(
    folder: Path = typer.Argument(..., help="Output folder of `generate extract`."),
    keep: list[int] = typer.Option(None, "--keep", help="Cluster id to keep (repeatable); the face set becomes these."),
    drop: list[int] = typer.Option(None, "--drop", help="Cluster id to leave out of the face set (repeatable)."),
) -> None:
    """Choose whose faces form the face set, by cluster id (see clusters/clusters.csv); no detection."""
    rows = selection.select(ExtractOutput(folder), keep=tuple(keep or ()), drop=tuple(drop or ()))
    typer.echo(f"{sum(r.has_face for r in rows)} faces kept; manifest written to {ExtractOutput(folder).manifest}")
