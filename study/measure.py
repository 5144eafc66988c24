"""``swaplab study run``: measure a built deepfake set, then write the report.

FR vulnerability per backend and tier; each detector trained on one tier and
tested on every tier (identity-disjoint); swap quality comes with the build.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from swaplab.core.config import save_config
from swaplab.detect import protocol as detection
from swaplab.core.errors import SwaplabError
from swaplab.evaluate import fr
from swaplab.reports import report
from swaplab.study.build import BUILD_FILE


@dataclass(frozen=True)
class MeasureConfig:
    """Settings of ``swaplab study run``: the build folder, FR backends, detectors."""

    build: Path
    backends: tuple[str, ...] = ("facenet", "lbp")
    detectors: tuple[str, ...] = ("iqm-svm", "iqm-lda", "mesoinception4")
    bootstrap: int = 500
    seed: int = 0
    device: str = "auto"


def load_build(folder: Path) -> dict:
    path = Path(folder) / BUILD_FILE
    if not path.exists():
        raise SwaplabError(f"{folder}: no {BUILD_FILE}; run `swaplab study build` first")
    return json.loads(path.read_text())


def run(config: MeasureConfig) -> Path:
    """Run FR vulnerability and detection on the build; return the report page."""
    study = load_build(config.build)
    genuine = tuple(Path(p) for p in study["genuine"])
    attacks = {tier: tuple(Path(m) for m in manifests) for tier, manifests in sorted(study["fakes"].items())}
    fr.run(fr.FRConfig(genuine=genuine, out=Path(config.build) / "fr", attacks=attacks, backends=config.backends,
                       bootstrap=config.bootstrap, seed=config.seed, device=config.device))
    for name in config.detectors:
        for tier in sorted(study["fakes"]):
            detection.run(detection.DetectConfig(real=genuine, fake=attacks, detector=name, train_tier=tier,
                                                 out=Path(config.build) / "detect" / f"{name}-{tier}", seed=config.seed))
    save_config(config, Path(config.build) / "study_run_config.json")
    return report.run(report.ReportConfig(Path(config.build)))
