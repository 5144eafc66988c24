"""The design card's folders are subpackages of `swaplab`: nothing shadows Hugging Face's
`datasets` or `evaluate`, in the editable install and in a built wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("generate", "detect", "evaluate", "datasets", "reports", "faces", "study")

SIDE_BY_SIDE = """
import datasets, evaluate
import swaplab.datasets, swaplab.evaluate, swaplab.generate, swaplab.detect, swaplab.reports
assert datasets.WHO == "hf" and evaluate.WHO == "hf", "a top-level name was shadowed"
assert swaplab.datasets.__name__ == "swaplab.datasets"
assert not hasattr(swaplab.datasets, "WHO") and not hasattr(swaplab.evaluate, "WHO")
from swaplab.datasets.manifest import FORMAT_VERSION
print("ok", swaplab.__file__)
"""


def stand_ins(folder: Path) -> Path:
    """Top-level `datasets` and `evaluate` packages standing in for Hugging Face's."""
    for name in ("datasets", "evaluate"):
        (folder / name).mkdir(parents=True)
        (folder / name / "__init__.py").write_text('WHO = "hf"\n')
    return folder


def run_side_by_side(tmp_path: Path, extra_path: list[Path]) -> str:
    env_path = ":".join(str(p) for p in [stand_ins(tmp_path / "hf"), *extra_path])
    done = subprocess.run([sys.executable, "-c", SIDE_BY_SIDE], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_installed_package_imports_beside_hugging_face_names(tmp_path: Path) -> None:
    assert run_side_by_side(tmp_path, []).startswith("ok")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a clean copy of the source: setuptools' build/ folder in the working tree
    would otherwise carry modules deleted since an earlier build into the wheel."""
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "demo_out", "bench_out"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(source)], check=True, capture_output=True)
    return next(out.glob("swaplab-*.whl"))


def test_wheel_holds_only_the_swaplab_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"swaplab", wheel.name.split("-py3")[0] + ".dist-info"}
    for sub in SUBPACKAGES:
        assert f"swaplab/{sub}/__init__.py" in names
    for name in (n for n in names if n.endswith(".py")):  # every module has its source: nothing stale
        parts = name.split("/")
        source = Path(*parts[1:]) if parts[1] in SUBPACKAGES else Path(name)
        assert (ROOT / source).is_file(), name


def test_built_wheel_imports_beside_hugging_face_names(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    out = run_side_by_side(tmp_path, [target])
    assert out.strip().endswith(str(target / "swaplab" / "__init__.py"))


WITHOUT_VIDEO_STACK = """
import sys
BLOCKED = ("av", "mediapipe", "facenet_pytorch", "dlib", "scenedetect", "typer")
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("not installed here: " + name)
sys.meta_path.insert(0, Block())
import swaplab.generate.train, swaplab.generate.pretrain
print("ok")
"""


def test_training_imports_without_the_video_and_detection_stack() -> None:
    """A lent GPU machine has torch and OpenCV but not PyAV, MediaPipe, dlib or FaceNet's wheels:
    training from pools (benchmarks/finetune_snapshots.py, gpu_train.py) must import there."""
    done = subprocess.run([sys.executable, "-c", WITHOUT_VIDEO_STACK], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]
