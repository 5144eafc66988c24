"""Stage ``train``: fit a swap model on src and dst faces; headless, seeded, resumable.

Writes into the model folder: ``model.pt`` (weights, optimiser, iteration
and RNG state; loads with ``torch.load(weights_only=True)``), ``losses.csv``,
``preview.png`` (rows of src, src->src, dst, dst->dst, dst->src) and
``train_config.json``. Checkpoints are atomic, every ``checkpoint_every``
iterations, at the end and on Ctrl-C; ``resume`` continues exactly.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from swaplab.core.allocator import keep_freed_memory
from swaplab.core.config import save_config
from swaplab.core.device import resolve_device, resolve_precision
from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import load_torch_file, require_writable_dir, save_torch_file, write_text_atomic
from swaplab.generate.augment import colour_jitter, match_colour_stats, warp_pair
from swaplab.datasets.outputs import TrainOutput
from swaplab.datasets.manifest import faces_only, read_manifest
from swaplab.generate.faceset import FaceSet, as_manifests, focus_weights, load_faceset, target_masks
from swaplab.generate.identity import IdentityLoss
from swaplab.generate.losses import mask_loss, reconstruction_loss
from swaplab.generate.models import PRESETS, ModelSpec, SwapModel, build_model
from swaplab.generate.pose_match import matched_draw_weights, resolved_share, turned_past_src_share, yaw_offsets
from swaplab.generate.preview import write_preview
from swaplab.core.progress import make_progress

CHECKPOINT = TrainOutput(Path()).checkpoint.name
DEFAULT_ITERATIONS = 2000  # the iteration cap when no time budget is given
clock = time.perf_counter  # training time is measured with this (tests replace it)
CHECKPOINT_FORMAT = 1  # 1 - spec, model, optimiser, iteration, generator state, loss log


@dataclass(frozen=True)
class TrainConfig:
    """Settings of ``swaplab generate train``.

    ``preset`` (lq, hq, tiny) fills the architecture; ``arch`` and the sizes
    override it. ``src`` and ``dst`` are one face manifest each or several (their union).
    Training stops at ``iterations`` or after ``minutes`` of training (a resumed model counts the
    time it trained before), whichever comes first; with ``minutes`` and no ``iterations`` the
    time budget alone decides (no default cap), without either it stops at 2000 iterations.
    ``mesh_masks`` trains on Face Mesh hull masks and eye/mouth hulls (cached beside the model),
    else on the template ellipse. ``precision`` bf16 runs the model under autocast (measured
    1.75x faster on this project's AVX512-BF16 CPU with the same loss curve); ``auto``
    picks it where the hardware supports it; losses are always computed in fp32.
    ``pretrained`` starts from a ``pretrained.pt`` of ``swaplab generate pretrain`` (same
    architecture and size; ``builtin``: the one shipped for the preset); a pair identity that model
    was pretrained on is refused. ``match_pose``: the share of src's draws (it and its mirror image)
    weighted by how often dst turns its head that way (generate/pose_match.py; 0: every src face
    alike, mirrored at random; None, the default: 0.5 where more than 20 % of dst's faces turn past
    every src face, else 0, resolved when training starts and recorded; a resumed model keeps its
    own). ``identity_weight`` > 0 adds the identity loss (generate/identity.py: FaceNet cosine of
    ``identity_faces`` dst faces swapped into src, per step, to src's template; on the grey level with
    ``identity_luma``); off by default, and a model trained with it records that FaceNet no longer
    judges it blindly.
    """

    src: tuple[Path, ...] | Path
    dst: tuple[Path, ...] | Path
    out: Path
    preset: str = "lq"
    arch: str | None = None
    resolution: int | None = None
    encoder_dims: int | None = None
    ae_dims: int | None = None
    decoder_dims: int | None = None
    iterations: int | None = None
    minutes: float | None = None
    batch_size: int = 8
    learning_rate: float = 2e-4
    focus_weight: float = 3.0
    colour_transfer: str = "none"
    checkpoint_every: int = 200
    preview_every: int = 200
    max_faces: int = 2000
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    mesh_masks: bool = True
    identity_weight: float = 0.0
    identity_faces: int = 2
    identity_luma: bool = False
    match_pose: float | None = None
    pretrained: Path | None = None
    resume: bool = False

    @property
    def iteration_cap(self) -> int | None:
        """The iteration limit: the one given, none under a time budget alone, else the default."""
        if self.iterations is not None:
            return self.iterations
        return None if self.minutes else DEFAULT_ITERATIONS

    def spec(self) -> ModelSpec:
        if self.preset not in PRESETS:
            raise SwaplabError(f"unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}")
        overrides = {k: getattr(self, k) for k in ("arch", "resolution", "encoder_dims", "ae_dims", "decoder_dims")
                     if getattr(self, k) is not None}
        return dataclasses.replace(PRESETS[self.preset], **overrides)


@dataclass
class TrainState:
    """Everything a checkpoint restores."""

    model: SwapModel
    optimiser: torch.optim.Optimizer
    generator: torch.Generator
    iteration: int = 0
    log: list = dataclasses.field(default_factory=list)
    meta: dict = dataclasses.field(default_factory=dict)  # face type, identities, seed


def new_state(config: TrainConfig, device: torch.device) -> TrainState:
    torch.manual_seed(config.seed)
    # channels-last: convolutions and their gradients run about 10 % faster on CPU in that layout (the
    # 4x4-map convolutions of 64 px models keep theirs contiguous: models.SmallMapConv2d)
    model = build_model(config.spec()).to(device, memory_format=torch.channels_last)
    # fused Adam: one kernel over all weights; the 'original' layout's 84.6 M weights step in 112 ms
    # instead of 319 ms on 2 CPU cores (a tenth of its training step)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate, betas=(0.5, 0.999),
                                 fused=device.type in ("cpu", "cuda"))
    generator = torch.Generator().manual_seed(config.seed)
    if device.type == "cpu":  # the step's big casts and gradients reuse freed memory, not fresh pages
        keep_freed_memory()
    return TrainState(model, optimiser, generator)


def save_checkpoint(state: TrainState, folder: Path) -> Path:
    """Write ``model.pt`` atomically."""
    payload = {"format": CHECKPOINT_FORMAT, "spec": state.model.spec.as_dict(),
               "model": state.model.state_dict(), "optimiser": state.optimiser.state_dict(),
               "iteration": state.iteration, "generator": state.generator.get_state(), "log": state.log,
               "meta": state.meta}
    target = TrainOutput(folder).checkpoint
    return save_torch_file(payload, target)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint safely (``weights_only=True``) and check its format."""
    payload = load_torch_file(path, "checkpoint", "no checkpoint (train a model first)", map_location)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise SwaplabError(f"{path}: not a swaplab model checkpoint of format {CHECKPOINT_FORMAT}")
    return payload


SHIPPED_WEIGHTS = Path(__file__).parent / "weights"  # pretrained models shipped with swaplab
BUILTIN = "builtin"  # --pretrained builtin: the shipped model of the preset
PRETRAINED_FORMAT = 1  # 1 - spec, fp16 weights without decoder_dst, provenance
SHARED_DECODER = "decoder_dst."  # a pretrained DF model's decoders learnt the same faces: one is kept


def compact_weights(state: dict) -> dict:
    """A state dict's weights in fp16 on the CPU, without ``decoder_dst`` (refilled from decoder_src by
    :func:`expand_shared_decoder`): half the size, and all a dst -> src swap or a fine-tune start needs."""
    return {name: tensor.detach().to("cpu", torch.float16) for name, tensor in state.items()
            if not name.startswith(SHARED_DECODER)}


def save_pretrained(model: SwapModel, target: Path, provenance: dict) -> Path:
    """Write a small ``pretrained.pt``: fp16 weights and ``provenance`` (identities, faces, manifests,
    iterations, device). decoder_dst is left out: after pretraining both decoders learnt the same pool,
    so fine-tuning starts both from decoder_src."""
    payload = {"format": PRETRAINED_FORMAT, "kind": "swaplab-pretrained", "spec": model.spec.as_dict(),
               "model": compact_weights(model.state_dict()), "provenance": provenance}
    return save_torch_file(payload, target)


def shipped_pretrained(preset: str) -> Path:
    """The pretrained model shipped for ``preset`` (see ``generate/weights/PROVENANCE.md``)."""
    path = SHIPPED_WEIGHTS / f"df_{preset}_pretrained.pt"
    if not path.is_file():
        shipped = sorted(p.name for p in SHIPPED_WEIGHTS.glob("*.pt")) if SHIPPED_WEIGHTS.is_dir() else []
        raise SwaplabError(f"no pretrained {preset} model ships with swaplab (shipped: {', '.join(shipped) or 'none'}); "
                           "make one with `swaplab generate pretrain`")
    return path


def resolve_pretrained(path: Path | str, preset: str) -> Path:
    """``builtin`` -> the shipped model of ``preset``; any other path as given."""
    return shipped_pretrained(preset) if str(path) == BUILTIN else Path(path)


def load_pretrained(path: Path) -> dict:
    """Read a ``pretrained.pt`` safely (``weights_only=True``) and check its format."""
    payload = load_torch_file(path, "pretrained model", "no pretrained model (run `swaplab generate pretrain`)")
    if not isinstance(payload, dict) or payload.get("kind") != "swaplab-pretrained" \
            or payload.get("format") != PRETRAINED_FORMAT:
        raise SwaplabError(f"{path}: not a swaplab pretrained model of format {PRETRAINED_FORMAT}")
    return payload


def expand_shared_decoder(weights: dict, model: SwapModel) -> dict:
    """Pretrained ``weights`` as a full state dict of ``model``: decoder_dst starts as decoder_src, fp32."""
    full = {name: tensor.float() for name, tensor in weights.items()}
    for name in model.state_dict():
        if name.startswith(SHARED_DECODER) and name not in full:
            full[name] = full["decoder_src." + name[len(SHARED_DECODER):]].clone()
    return full


def restore_state(config: TrainConfig, device: torch.device, folder: Path) -> TrainState:
    payload = load_checkpoint(TrainOutput(folder).checkpoint, device)
    state = new_state(config, device)
    if payload["spec"] != state.model.spec.as_dict():
        raise SwaplabError(f"{folder}: checkpoint is a {payload['spec']} model, the config asks for "
                           f"{state.model.spec.as_dict()}")
    state.model.load_state_dict(payload["model"])
    state.optimiser.load_state_dict(payload["optimiser"])
    match_state_layout(state.optimiser)
    state.generator.set_state(payload["generator"].cpu())
    state.iteration, state.log = payload["iteration"], list(payload["log"])
    state.meta = dict(payload.get("meta", {}))
    return state


def match_state_layout(optimiser: torch.optim.Optimizer) -> None:
    """Give every per-weight optimiser tensor its weight's memory layout.

    A checkpoint keeps the layout its weights had when it was written (before cbfbf39 the 4x4-map
    convolutions were channels-last, now contiguous); the fused CPU Adam walks weight and moments
    as raw memory, so moments in another layout would update the wrong elements.
    """
    for group in optimiser.param_groups:
        for param in group["params"]:
            slots = optimiser.state.get(param, {})
            for name, value in slots.items():
                if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                    slots[name] = torch.empty_like(param, dtype=value.dtype).copy_(value)


class Batcher:
    """Draws augmented training batches from both face sets, all randomness from one generator."""

    def __init__(self, src: FaceSet, dst: FaceSet, config: TrainConfig, device: torch.device) -> None:
        self.sets = {"src": src, "dst": dst}
        self.config, self.device = config, device
        # (N, 2, R, R) uint8 per side: target mask and eye/mouth weight, x255
        self.extra = {side: torch.cat([target_masks(s), focus_weights(s)], dim=1).mul(255).round().to(torch.uint8)
                      for side, s in self.sets.items()}
        self.faces = {side: s.faces for side, s in self.sets.items()}
        self.src_weights = None
        src_yaws, dst_yaws = yaw_offsets(src.landmarks), yaw_offsets(dst.landmarks)
        share = resolved_share(config.match_pose, src_yaws, dst_yaws)
        if share > 0:  # src's faces, then their mirror images, drawn by dst's head turns
            self.src_weights = matched_draw_weights(src_yaws, dst_yaws, share)
            self.faces["src"] = torch.cat([src.faces, src.faces.flip(-1)])
            self.extra["src"] = torch.cat([self.extra["src"], self.extra["src"].flip(-1)])

    def _pick(self, side: str, gen: torch.Generator) -> torch.Tensor:
        if side == "src" and self.src_weights is not None:
            return torch.multinomial(self.src_weights, self.config.batch_size, replacement=True, generator=gen)
        return torch.randint(len(self.faces[side]), (self.config.batch_size,), generator=gen)

    def draw(self, gen: torch.Generator) -> dict[str, tuple[torch.Tensor, ...]]:
        picks = {side: self._pick(side, gen) for side in self.sets}
        images = {side: self.faces[side][idx].float() / 255 for side, idx in picks.items()}
        if self.config.colour_transfer == "rct":
            images["src"] = match_colour_stats(images["src"], images["dst"])
        batch = {}
        for side, image in images.items():
            extra = self.extra[side][picks[side]].float() / 255
            chosen_mirror = side == "src" and self.src_weights is not None
            warped, target, moved = warp_pair(colour_jitter(image, gen), gen, extra, flip=not chosen_mirror)
            batch[side] = tuple(t.to(self.device) for t in (warped, target, moved[:, :1], moved[:, 1:]))
        return batch


def train_step(state: TrainState, batch: dict, config: TrainConfig,
               identity: IdentityLoss | None = None) -> dict[str, float]:
    """One optimiser step on both sides (and the identity term when given); returns the losses."""
    device_type = next(state.model.parameters()).device.type
    losses = {}
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=config.precision == "bf16"):
        made = state.model.reconstruct_both(batch["src"][0], batch["dst"][0])
    for side, (face, pred_mask) in zip(("src", "dst"), made, strict=True):
        _, target, mask, focus = batch[side]
        # losses in fp32: SSIM's small windowed sums lose too much in bf16
        losses[side] = reconstruction_loss(face.float(), target, mask, focus, config.focus_weight)
        losses[f"{side}_mask"] = mask_loss(pred_mask.float(), mask)
    if identity is not None:  # dst's unwarped faces swapped into src, as at swap time
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=config.precision == "bf16"):
            swapped, _ = state.model.swap(batch["dst"][1][:config.identity_faces], "src")
        losses["identity"] = identity(swapped.float())
    total = sum(losses.values())
    state.optimiser.zero_grad(set_to_none=True)
    total.backward()
    state.optimiser.step()
    return {name: value.item() for name, value in losses.items()}


LOG_COLUMNS = ("iteration", "seconds", "src", "dst", "src_mask", "dst_mask", "identity")


def _write_log(log: list, folder: Path) -> None:
    """losses.csv; ``identity`` is empty where the identity term was off (and in older logs)."""
    lines = [",".join(LOG_COLUMNS)]
    for row in log:
        cells = ["" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v) for v in row]
        lines.append(",".join(cells + [""] * (len(LOG_COLUMNS) - len(cells))))
    write_text_atomic(TrainOutput(folder).losses, "\n".join(lines) + "\n")


def _check(config: TrainConfig) -> None:
    if config.colour_transfer not in ("none", "rct"):
        raise SwaplabError(f"training colour transfer {config.colour_transfer!r}: choose none or rct")
    if (config.iterations is not None and config.iterations < 1) or config.batch_size < 1:
        raise SwaplabError("iterations and batch size must be at least 1")
    if config.minutes is not None and config.minutes <= 0:
        raise SwaplabError(f"--minutes {config.minutes}: a time budget must be positive")
    if config.match_pose is not None and not 0 <= config.match_pose <= 1:
        raise SwaplabError(f"--match-pose {config.match_pose}: a share within 0..1")
    if config.identity_weight < 0 or config.identity_faces < 1:
        raise SwaplabError("identity_weight must be >= 0 and identity_faces >= 1")


def run(config: TrainConfig, on_step: Callable[[int, dict], None] | None = None) -> TrainOutput:
    """Train (or resume) into ``config.out`` on the faces of ``config.src`` and ``config.dst``."""
    _check(config)
    output = TrainOutput(require_writable_dir(config.out))
    _refuse_used_folder(config, output)
    if config.pretrained is not None and not config.resume:  # before minutes of decoding and Face Mesh
        source = resolve_pretrained(config.pretrained, config.preset)
        refuse_seen(load_pretrained(source)["provenance"]["identities"],
                    manifest_identities(config.src) | manifest_identities(config.dst), source)
    spec = config.spec()
    src, dst = (load_faceset(getattr(config, side), spec.resolution, config.max_faces,
                             output.mesh_landmarks(side, "{key}") if config.mesh_masks else None)
                for side in ("src", "dst"))
    return fit(config, src, dst, on_step)


def pose_share(config: TrainConfig, state: TrainState, src_yaws: torch.Tensor, dst_yaws: torch.Tensor) -> float:
    """The pose-match share to train with: the one given; a resumed model's own when none is given (0 for a
    model that predates its record), so a resume draws as the run it continues; else chosen from the turns
    of the training face sets (:func:`pose_match.resolved_share`)."""
    if config.match_pose is None and config.resume:
        return float(state.meta.get("match_pose") or 0.0)
    return resolved_share(config.match_pose, src_yaws, dst_yaws)


def fit(config: TrainConfig, src: FaceSet, dst: FaceSet,
        on_step: Callable[[int, dict], None] | None = None) -> TrainOutput:
    """Train (or resume) into ``config.out`` on face sets already in memory (at the model's resolution).

    A resumed model keeps the pretrained model it started from, and its pair is checked again.
    """
    _check(config)
    output = TrainOutput(require_writable_dir(config.out))
    device = resolve_device(config.device)
    config = dataclasses.replace(config, precision=resolve_precision(config.precision, device))
    _refuse_used_folder(config, output)
    if src.face_type != dst.face_type:
        raise SwaplabError(f"src faces are {src.face_type!r}, dst faces {dst.face_type!r}: extract both alike")
    if {src.resolution, dst.resolution} != {config.spec().resolution}:
        raise SwaplabError(f"faces of {src.resolution}/{dst.resolution} px for a {config.spec().resolution} px model")
    if config.resume:
        state = restore_state(config, device, output.folder)
        check_resumed_pretrained(state, config, (src.identity, dst.identity))
    else:
        state = new_state(config, device)
        if config.pretrained is not None:
            start_from_pretrained(state, config, (src.identity, dst.identity))
    src_yaws, dst_yaws = yaw_offsets(src.landmarks), yaw_offsets(dst.landmarks)
    config = dataclasses.replace(config, match_pose=pose_share(config, state, src_yaws, dst_yaws))
    state.meta = {**state.meta, "face_type": src.face_type, "src_identity": src.identity,
                  "dst_identity": dst.identity, "seed": config.seed, "precision": config.precision,
                  "device": str(device), "match_pose": config.match_pose,
                  "train_turned_past_src_share": turned_past_src_share(src_yaws, dst_yaws)}
    identity = None
    if config.identity_weight > 0:
        identity = IdentityLoss(src, config.identity_weight, device, config.precision == "bf16",
                                config.identity_luma)
        state.meta["identity_loss"] = {"weight": config.identity_weight, "faces": config.identity_faces,
                                       "luma": config.identity_luma,
                                       "network": "facenet", "from_iteration": state.meta.get(
                                           "identity_loss", {}).get("from_iteration", state.iteration)}
    save_config(config, output.config)
    batcher = Batcher(src, dst, config, device)
    try:
        _loop(state, batcher, config, output.folder, on_step, identity)
    finally:
        save_checkpoint(state, output.folder)
        _write_log(state.log, output.folder)
        write_preview(state.model, src, dst, output.preview)
    return output


def _refuse_used_folder(config: TrainConfig, output: TrainOutput) -> None:
    if output.checkpoint.exists() and not config.resume:
        raise SwaplabError(f"{output.folder}: already holds a model; pass --resume to continue it or choose a new folder")


def identity_names(joined: Iterable[str]) -> set[str]:
    """Single identity names from face-set identities (several people are joined by '+')."""
    return {name for names in joined for name in names.split("+") if name}


def manifest_identities(manifests: Path | tuple[Path, ...]) -> set[str]:
    """The identities of the faces of one or more manifests (read without decoding a crop)."""
    return {record.identity for manifest in as_manifests(manifests) for record in faces_only(read_manifest(manifest))}


def refuse_seen(seen: Iterable[str], identities: Iterable[str], source: Path | str) -> None:
    """Refuse a pair with an identity the pretrained model ``source`` saw (``seen``)."""
    overlap = sorted(set(seen) & identity_names(identities))
    if overlap:
        raise SwaplabError(f"{source} was pretrained on {', '.join(overlap)}: a pretrained model must "
                           "never have seen the pair it is fine-tuned on")


def check_resumed_pretrained(state: TrainState, config: TrainConfig, identities: tuple[str, ...]) -> None:
    """A resumed model: its recorded pretrained model must not have seen the pair, and a ``--pretrained``
    given again must be that model (a model cannot change its starting point halfway)."""
    recorded = state.meta.get("pretrained")
    if config.pretrained is not None:
        given = load_pretrained(resolve_pretrained(config.pretrained, config.preset))["provenance"]
        if recorded is None or given.get("created") != recorded.get("created"):
            raise SwaplabError(f"{config.out}: the model there was not started from {config.pretrained}; "
                               "resume it without --pretrained or train a new one")
    if recorded is not None:
        refuse_seen(recorded["identities"], identities, recorded["path"])


def start_from_pretrained(state: TrainState, config: TrainConfig, identities: tuple[str, ...]) -> None:
    """Load the weights of ``config.pretrained`` into a new state; refuse a pair the model saw."""
    source = resolve_pretrained(config.pretrained, config.preset)
    payload = load_pretrained(source)
    refuse_seen(payload["provenance"]["identities"], identities, source)
    if payload["spec"] != state.model.spec.as_dict():
        raise SwaplabError(f"{source}: a {payload['spec']} model, the config asks for "
                           f"{state.model.spec.as_dict()}")
    state.model.load_state_dict(expand_shared_decoder(payload["model"], state.model))
    state.meta["pretrained"] = {"path": str(source), **payload["provenance"]}


def _loop(state: TrainState, batcher: Batcher, config: TrainConfig, folder: Path,
          on_step: Callable[[int, dict], None] | None, identity: IdentityLoss | None = None) -> None:
    start = clock()
    offset = state.log[-1][1] if state.log else 0.0  # seconds trained before a resume
    deadline = start + config.minutes * 60 - offset if config.minutes else None
    state.model.train()
    with make_progress() as progress:
        cap = config.iteration_cap
        task = progress.add_task("train", total=cap, completed=state.iteration)
        while (cap is None or state.iteration < cap) and (deadline is None or clock() < deadline):
            losses = train_step(state, batcher.draw(state.generator), config, identity)
            state.iteration += 1
            elapsed = offset + clock() - start
            state.log.append([state.iteration, elapsed, *(losses.get(k) for k in LOG_COLUMNS[2:])])
            progress.update(task, completed=state.iteration,
                            description=f"train src {losses['src']:.3f} dst {losses['dst']:.3f}")
            if on_step is not None:
                on_step(state.iteration, losses)
            if state.iteration % config.checkpoint_every == 0:
                save_checkpoint(state, folder)
                _write_log(state.log, folder)
            if state.iteration % config.preview_every == 0:
                write_preview(state.model, batcher.sets["src"], batcher.sets["dst"], TrainOutput(folder).preview)
                state.model.train()

