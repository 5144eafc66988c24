"""Swap models: a shared encoder with per-identity decoders (DeepFaceLab's DF), and LIAE.

Every decoder outputs a face (3 channels, sigmoid) and a face mask (1
channel, sigmoid) at the model's resolution. Tensors are NCHW float in [0, 1].

df    encoder -> inter -> decoder_src / decoder_dst. Swap: dst -> encoder -> inter -> decoder_src.
liae  encoder -> inter_ab (both identities) and inter_b (dst only) -> one decoder.
      src code = [inter_ab(src), inter_ab(src)]; dst code = [inter_b(dst), inter_ab(dst)];
      swap: [inter_ab(dst), inter_ab(dst)] -> decoder, i.e. dst's pose with src's appearance code.
original  faceswap's 'original' layout (64 px, ~82 M parameters), kept as a speed reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from swaplab.core.registry import Registry


@dataclass(frozen=True)
class ModelSpec:
    """Architecture and size: ``resolution`` px, encoder/decoder widths, bottleneck size."""

    arch: str = "df"
    resolution: int = 64
    encoder_dims: int = 32
    ae_dims: int = 128
    decoder_dims: int = 32

    def as_dict(self) -> dict:
        return asdict(self)


PRESETS = {
    # the LQ/HQ tiers of the Korshunov-Marcel study, sized for CPU training
    "lq": ModelSpec("df", 64, 32, 128, 32),
    "hq": ModelSpec("df", 128, 32, 192, 32),
    "tiny": ModelSpec("df", 64, 8, 32, 8),
}


class SmallMapConv2d(nn.Conv2d):
    """A convolution whose output map has a few positions (4x4 at the bottleneck of a 64 px model).

    On CPU it runs as unfold + one matrix product with the (out, in * k * k) weight: oneDNN's
    convolution backward is slow on such maps (measured on 2 cores, bf16, batch 32: a 3x3 conv of
    1024 -> 2048 channels on a 4x4 map took 347 ms forward + backward, 263 ms as a matrix product;
    a 5x5 stride-2 conv 512 -> 1024 from 8x8: 283 -> 172 ms; on an 8x8 output map the convolution
    wins, so only the small maps use it). Its weight stays in the default (contiguous) layout, where
    that matrix is a view, even when the model moves to channels-last. Same parameters and
    state-dict keys as ``nn.Conv2d``; elsewhere (CUDA) it is ``nn.Conv2d``.
    """

    MAX_POSITIONS = 16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._as_matrix_product(x):
            return super().forward(x)
        rows, cols = self._output_size(x)
        patches = F.unfold(x, self.kernel_size, padding=self.padding, stride=self.stride)  # (N, C*kh*kw, rows*cols)
        out = self.weight.reshape(self.out_channels, -1) @ patches
        if self.bias is not None:
            out = out + self.bias.to(out.dtype)[:, None]  # bf16 under autocast, as nn.Conv2d gives
        return out.reshape(len(x), self.out_channels, rows, cols)

    def _output_size(self, x: torch.Tensor) -> tuple[int, int]:
        return tuple((size + 2 * pad - k) // stride + 1  # type: ignore[return-value]
                     for size, pad, k, stride in zip(x.shape[-2:], self.padding, self.kernel_size, self.stride, strict=True))

    def _as_matrix_product(self, x: torch.Tensor) -> bool:
        """CPU, a batch of maps, plain zero-padded convolution, and an output map of few positions."""
        plain = (self.groups == 1 and self.dilation == (1, 1) and self.padding_mode == "zeros"
                 and not isinstance(self.padding, str))
        if x.device.type != "cpu" or x.dim() != 4 or not plain:
            return False
        rows, cols = self._output_size(x)
        return rows * cols <= self.MAX_POSITIONS

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True) -> SmallMapConv2d:
        out = super()._apply(fn, recurse)
        if self.weight.device.type == "cpu":  # channels-last would make the matrix a copy each step
            self.weight.data = self.weight.data.contiguous()
        return out


def _down(cin: int, cout: int, small_map: bool = False) -> nn.Sequential:
    """Stride-2 5x5 convolution and leaky ReLU; ``small_map`` when its output map is 4x4 or smaller."""
    return nn.Sequential((SmallMapConv2d if small_map else nn.Conv2d)(cin, cout, 5, 2, 2), nn.LeakyReLU(0.1))


class Upscale(nn.Module):
    """Conv to 4x channels, then pixel shuffle: doubles height and width (``small_map``: see :func:`_down`)."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, small_map: bool = False) -> None:
        super().__init__()
        self.conv = (SmallMapConv2d if small_map else nn.Conv2d)(cin, cout * 4, kernel, 1, kernel // 2)
        self.act = nn.LeakyReLU(0.1)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.act(self.conv(x)))


class ResidualBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(ch, ch, 3, 1, 1)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.conv2(self.act(self.conv1(x))))


class Encoder(nn.Module):
    """Four stride-2 convolutions: (N, 3, R, R) -> (N, 8e * (R/16)^2)."""

    def __init__(self, dims: int, resolution: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(_down(3, dims), _down(dims, dims * 2), _down(dims * 2, dims * 4),
                                 _down(dims * 4, dims * 8, small_map=resolution // 16 <= 4), nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Inter(nn.Module):
    """Dense bottleneck back to a (N, ae, R/8, R/8) feature map."""

    def __init__(self, in_features: int, ae_dims: int, resolution: int, out_ch: int) -> None:
        super().__init__()
        self.low = resolution // 16
        self.out_ch = out_ch
        self.dense = nn.Sequential(nn.Linear(in_features, ae_dims), nn.Linear(ae_dims, self.low**2 * out_ch))
        self.up = Upscale(out_ch, out_ch, small_map=self.low <= 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.dense(x).view(-1, self.out_ch, self.low, self.low))


class Decoder(nn.Module):
    """(N, C, R/8, R/8) -> face (N, 3, R, R) and mask (N, 1, R, R), both in [0, 1]."""

    def __init__(self, in_ch: int, dims: int) -> None:
        super().__init__()
        self.face = nn.Sequential(Upscale(in_ch, dims * 8), ResidualBlock(dims * 8), Upscale(dims * 8, dims * 4),
                                  ResidualBlock(dims * 4), Upscale(dims * 4, dims * 2), ResidualBlock(dims * 2),
                                  nn.Conv2d(dims * 2, 3, 1))
        self.mask = nn.Sequential(Upscale(in_ch, dims * 4), Upscale(dims * 4, dims * 2), Upscale(dims * 2, dims),
                                  nn.Conv2d(dims, 1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.sigmoid(self.face(x)), torch.sigmoid(self.mask(x))


class SwapModel(nn.Module):
    """The interface of every swap model: reconstruct src, reconstruct dst, swap dst -> src."""

    spec: ModelSpec

    def reconstruct(self, x: torch.Tensor, side: str) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def reconstruct_both(self, src: torch.Tensor, dst: torch.Tensor) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        """(face, mask) of src's and of dst's reconstruction, as :meth:`reconstruct` gives them.

        Models whose encoder is shared run it once on both batches together: the same result,
        with larger matrix products (one step of training is about 5-20 % faster on CPU).
        """
        return self.reconstruct(src, "src"), self.reconstruct(dst, "dst")

    def swap(self, faces: torch.Tensor, into: str = "src") -> tuple[torch.Tensor, torch.Tensor]:
        """Faces (N, 3, R, R) of one identity -> faces and masks of identity ``into`` in their pose.

        ``into="src"`` is the usual dst -> src swap; ``into="dst"`` the reverse.
        """
        raise NotImplementedError


class DF(SwapModel):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        flat = spec.encoder_dims * 8 * (spec.resolution // 16) ** 2
        self.encoder = Encoder(spec.encoder_dims, spec.resolution)
        self.inter = Inter(flat, spec.ae_dims, spec.resolution, spec.ae_dims)
        self.decoder_src = Decoder(spec.ae_dims, spec.decoder_dims)
        self.decoder_dst = Decoder(spec.ae_dims, spec.decoder_dims)

    def reconstruct(self, x: torch.Tensor, side: str) -> tuple[torch.Tensor, torch.Tensor]:
        decoder = self.decoder_src if side == "src" else self.decoder_dst
        return decoder(self.inter(self.encoder(x)))

    def reconstruct_both(self, src: torch.Tensor, dst: torch.Tensor) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        src_code, dst_code = self.inter(self.encoder(torch.cat([src, dst]))).split([len(src), len(dst)])
        return self.decoder_src(src_code), self.decoder_dst(dst_code)

    def swap(self, faces: torch.Tensor, into: str = "src") -> tuple[torch.Tensor, torch.Tensor]:
        return self.reconstruct(faces, into)


class LIAE(SwapModel):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        flat = spec.encoder_dims * 8 * (spec.resolution // 16) ** 2
        self.encoder = Encoder(spec.encoder_dims, spec.resolution)
        self.inter_ab = Inter(flat, spec.ae_dims, spec.resolution, spec.ae_dims)
        self.inter_b = Inter(flat, spec.ae_dims, spec.resolution, spec.ae_dims)
        self.decoder = Decoder(spec.ae_dims * 2, spec.decoder_dims)

    def reconstruct(self, x: torch.Tensor, side: str) -> tuple[torch.Tensor, torch.Tensor]:
        code = self.encoder(x)
        ab = self.inter_ab(code)
        first = ab if side == "src" else self.inter_b(code)
        return self.decoder(torch.cat([first, ab], dim=1))

    def reconstruct_both(self, src: torch.Tensor, dst: torch.Tensor) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        src_code, dst_code = self.encoder(torch.cat([src, dst])).split([len(src), len(dst)])
        src_ab, dst_ab = self.inter_ab(torch.cat([src_code, dst_code])).split([len(src), len(dst)])
        latent = torch.cat([torch.cat([src_ab, src_ab], dim=1), torch.cat([self.inter_b(dst_code), dst_ab], dim=1)])
        faces, masks = self.decoder(latent)
        return (faces[:len(src)], masks[:len(src)]), (faces[len(src):], masks[len(src):])

    def swap(self, faces: torch.Tensor, into: str = "src") -> tuple[torch.Tensor, torch.Tensor]:
        code = self.encoder(faces)
        ab = self.inter_ab(code)
        first = ab if into == "src" else self.inter_b(code)
        return self.decoder(torch.cat([first, ab], dim=1))


class _OriginalDecoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(Upscale(512, 256), Upscale(256, 128), Upscale(128, 64), nn.Conv2d(64, 3, 5, 1, 2))
        self.mask = nn.Sequential(Upscale(512, 64), Upscale(64, 32), Upscale(32, 16), nn.Conv2d(16, 1, 5, 1, 2))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.sigmoid(self.net(x)), torch.sigmoid(self.mask(x))


class Original(SwapModel):
    """faceswap's 'original' model layout at 64 px: 128-256-512-1024 encoder, 1024-d bottleneck,
    upscales 512-256-128-64 (plus a small mask head)."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        self.encoder = nn.Sequential(_down(3, 128), _down(128, 256), _down(256, 512), _down(512, 1024, small_map=True),
                                     nn.Flatten(), nn.Linear(1024 * 4 * 4, 1024), nn.Linear(1024, 4 * 4 * 1024))
        self.upscale = Upscale(1024, 512, small_map=True)
        self.decoder_src = _OriginalDecoder()
        self.decoder_dst = _OriginalDecoder()

    def _code(self, x: torch.Tensor) -> torch.Tensor:
        return self.upscale(self.encoder(x).view(-1, 1024, 4, 4))

    def reconstruct(self, x: torch.Tensor, side: str) -> tuple[torch.Tensor, torch.Tensor]:
        return (self.decoder_src if side == "src" else self.decoder_dst)(self._code(x))

    def reconstruct_both(self, src: torch.Tensor, dst: torch.Tensor) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        src_code, dst_code = self._code(torch.cat([src, dst])).split([len(src), len(dst)])
        return self.decoder_src(src_code), self.decoder_dst(dst_code)

    def swap(self, faces: torch.Tensor, into: str = "src") -> tuple[torch.Tensor, torch.Tensor]:
        return self.reconstruct(faces, into)


SWAP_MODELS: Registry[SwapModel] = Registry("swap model")
SWAP_MODELS.register("df")(lambda *, spec: DF(spec))
SWAP_MODELS.register("liae")(lambda *, spec: LIAE(spec))
SWAP_MODELS.register("original")(lambda *, spec: Original(spec))


def build_model(spec: ModelSpec) -> SwapModel:
    """The registered architecture ``spec.arch`` built at ``spec``'s size."""
    if spec.resolution % 16:
        raise ValueError(f"resolution must be a multiple of 16, got {spec.resolution}")
    return SWAP_MODELS.get(spec.arch, spec=spec)
