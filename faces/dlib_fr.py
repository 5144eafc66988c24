"""dlib's ResNet face descriptor (128-d), a second strong FR system from another family than FaceNet.

dlib's ``dlib_face_recognition_resnet_model_v1`` (a ResNet-29 trained with a
metric loss on about 3 million faces; dlib's own threshold is Euclidean
distance 0.6). Input: dlib's 5-point shape predictor finds the eye corners
and the nose base inside the MTCNN face box (carried into our aligned crop),
``dlib.get_face_chip`` cuts the 150 px chip with padding 0.25, and
``compute_face_descriptor`` embeds it. Embeddings are L2-normalised so that,
as for every backend, the score is a cosine similarity (higher = more
genuine). dlib runs on the CPU here (this build has no CUDA); ``device`` is
accepted so every backend is built alike, and ignored.

Weights: ``shape_predictor_5_face_landmarks.dat`` and
``dlib_face_recognition_resnet_model_v1.dat`` from the installed
``face_recognition_models`` 0.3.0 package, found on disk (the package itself
is not imported: its ``__init__`` needs ``pkg_resources``). Nothing downloads.

Licences: dlib, Boost Software License 1.0 (dlib-bin wheel metadata: "License:
Boost Software License"). face_recognition_models 0.3.0: its LICENSE file is
the CC0 1.0 Universal public-domain dedication, while its package metadata says
"License: MIT license" (classifier "MIT License"); the two disagree, and the
LICENSE text is what ships with the weights.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from swaplab.core.errors import SwaplabError
from swaplab.faces.backends import FR_BACKENDS, AlignedFace, l2_normalise
from swaplab.faces.preprocessing import Preprocessing

CHIP_SIZE = 150
PADDING = 0.25
SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
LICENCE = ("dlib: Boost Software License 1.0; weights (face_recognition_models 0.3.0): LICENSE file CC0 1.0 "
           "Universal, package metadata 'MIT license'")


def model_path(name: str) -> Path:
    """A model file of the installed ``face_recognition_models`` package (found, not imported)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise SwaplabError("face_recognition_models is not installed (pip install face_recognition_models)")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    if not path.is_file():
        raise SwaplabError(f"{path}: dlib model missing from the face_recognition_models package")
    return path


@lru_cache(maxsize=1)
def _models() -> tuple[object, object]:
    import dlib

    return (dlib.shape_predictor(str(model_path(SHAPE_MODEL))),
            dlib.face_recognition_model_v1(str(model_path(DESCRIPTOR_MODEL))))


def face_chip(crop: np.ndarray, box: np.ndarray) -> np.ndarray:
    """dlib's aligned chip (150, 150, 3) uint8 of the face in ``box`` (x0, y0, x1, y1) of an RGB crop."""
    import dlib

    shape_predictor, _ = _models()
    image = np.ascontiguousarray(crop, dtype=np.uint8)
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    shape = shape_predictor(image, dlib.rectangle(x0, y0, x1, y1))
    return np.asarray(dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=PADDING), dtype=np.uint8)


class DlibResNet:
    """dlib ResNet descriptors of 150 px face chips, (N, 128) L2-normalised."""

    name = "dlib"
    licence = LICENCE
    preprocessing = Preprocessing(crop_size=CHIP_SIZE, face_type="dlib_chip", margin=PADDING, input_size=CHIP_SIZE,
                                  normalisation="dlib")

    def __init__(self, *, device: str = "auto") -> None:
        self.device = device  # dlib here runs on the CPU only

    def prepare(self, face: AlignedFace) -> np.ndarray:
        """(150, 150, 3) uint8 dlib chip, from the detector box carried into the aligned crop."""
        from swaplab.faces.facenet import box_in_crop

        return face_chip(face.crop, box_in_crop(face))

    def embed(self, inputs: np.ndarray) -> np.ndarray:
        """(N, 150, 150, 3) uint8 chips -> (N, 128) L2-normalised float32."""
        if len(inputs) == 0:
            return np.zeros((0, 128), np.float32)
        _, descriptor = _models()
        rows = descriptor.compute_face_descriptor([np.ascontiguousarray(chip) for chip in inputs])
        return l2_normalise(np.asarray([np.asarray(row) for row in rows]))


@FR_BACKENDS.register("dlib")
def dlib_resnet(*, device: str = "auto") -> DlibResNet:
    """dlib ResNet face descriptor (128-d), CPU."""
    return DlibResNet(device=device)
