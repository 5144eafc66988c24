"""Identity loss: FaceNet's cosine distance from the swapped face to src's template (off by default).

SimSwap's idea carried to a DeepFaceLab-style autoencoder: besides reconstructing each person,
the model is asked that dst's face decoded as src (the swap itself) embeds near src in FaceNet.
FaceNet here is the same network that judges acceptance (faces/facenet_torch.py, frozen):
a model trained with this term is no longer judged blindly by FaceNet, so its quality.json
says so and dlib-ResNet, which training never saw, is the independent judge.

The swapped face (N, 3, R, R) is cut to FaceNet's input the way extraction cuts a real face:
MTCNN's usual box in an aligned crop (``typical_box_in_crop``) with FaceNet's margin, resized to
160 px by bilinear interpolation, so the gradient reaches the decoder. With ``luma`` FaceNet
sees the face's grey level (channel mean) in all three channels, so the gradient at the output
moves R, G and B alike; measured, it did not keep the decoder from painting the red and purple
blotches around eyes and mouth that the colour term makes (README), so colour is the default.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from swaplab.faces.facenet import INPUT_SIZE, typical_box_in_crop, with_margin
from swaplab.generate.faceset import FaceSet

TEMPLATE_FACES = 256  # src faces averaged into the template


def facenet_window(face_type: str, resolution: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) rows/columns of an R px aligned crop that FaceNet sees: the
    typical face box plus FaceNet's margin, clipped to the crop."""
    x0, y0, x1, y1 = with_margin(typical_box_in_crop(face_type, resolution))
    left, top = max(0, int(round(x0))), max(0, int(round(y0)))
    right, bottom = min(resolution, int(round(x1))), min(resolution, int(round(y1)))
    return top, bottom, left, right


class IdentityLoss:
    """``weight`` x mean(1 - cos(FaceNet(swapped), src template)) over a few swapped faces.

    Parameters
    ----------
    src : src's face set (its template is the normalised mean embedding of up to 256 of its faces)
    weight : the term's weight beside the reconstruction losses (which are ~0.5-2)
    device : where the model trains
    bf16 : run FaceNet under bf16 autocast (as the model does)
    luma : feed FaceNet the grey level only (channel mean in 3 channels), for the template as for the swaps
    """

    def __init__(self, src: FaceSet, weight: float, device: torch.device, bf16: bool, luma: bool = False) -> None:
        from swaplab.faces.facenet_torch import load_inception_resnet_v1

        self.weight, self.bf16, self.luma = weight, bf16, luma
        self.window = facenet_window(src.face_type, src.resolution)
        # a private copy: embedders share the cached network and move it between devices in inference mode
        self.network = copy.deepcopy(load_inception_resnet_v1()).to(device).eval()
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)
        picks = np.linspace(0, len(src.faces) - 1, min(TEMPLATE_FACES, len(src.faces))).round().astype(int)
        with torch.no_grad():
            faces = src.faces[torch.from_numpy(picks)].float().div(255).to(device)
            embedded = torch.cat([self.embed(chunk) for chunk in faces.split(32)])
        self.template = F.normalize(embedded.mean(0), dim=0)

    def embed(self, faces: torch.Tensor) -> torch.Tensor:
        """(N, 3, R, R) in [0, 1] -> (N, 512) L2-normalised FaceNet embeddings (differentiable)."""
        top, bottom, left, right = self.window
        window = faces[:, :, top:bottom, left:right].float()
        if self.luma:
            # the channel mean, not BT.601 weights: its gradient moves R, G and B alike (no tint)
            window = window.mean(1, keepdim=True).expand(-1, 3, -1, -1)
        inputs = F.interpolate(window, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        inputs = (inputs * 255 - 127.5) / 128  # FaceNet's "fixed" normalisation
        with torch.autocast(inputs.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            embedded = self.network(inputs)
        return F.normalize(embedded.float(), dim=1)

    def similarity(self, swapped: torch.Tensor) -> torch.Tensor:
        """(N,) cosine similarity of swapped faces (N, 3, R, R) to the src template."""
        return self.embed(swapped) @ self.template

    def __call__(self, swapped: torch.Tensor) -> torch.Tensor:
        return self.weight * (1 - self.similarity(swapped)).mean()
