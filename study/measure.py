"""``swaplab study run``: measure a built deepfake set, then write the report.

FR vulnerability per backend and tier: enrolment segments build the templates, real probe
segments are the genuine probes, fakes (failed swaps excluded) the attacks. Each detector is
trained on one tier and tested on every tier (identity-disjoint), with the real probes (the same
encode-and-extract chain as the fakes) as bona fide; with ``test_index``, also on third-party
deepfakes (cross-dataset). Swap quality comes with the build.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from swaplab.core.config import save_config
from swaplab.core.errors import SwaplabError, TooFewSamplesError
from swaplab.datasets.manifest import read_manifest
from swaplab.datasets.outputs import StudyOutput
from swaplab.datasets.study_record import StudyRecord
from swaplab.detect import protocol as detection
from swaplab.detect.lipsync_protocol import NoSoundError, evaluate_lipsync, videos_from_manifests
from swaplab.evaluate import fr
from swaplab.evaluate.protocol import load_faces, videos_by_identity
from swaplab.faces.backends import FR_BACKENDS
from swaplab.reports import report
from swaplab.study import crossdata

STUDY_BACKENDS = ("facenet", "dlib", "lbp")  # dlib where registered (faces.backends); see default_backends


def default_backends() -> tuple[str, ...]:
    """The study's FR backends that this installation registers."""
    return tuple(name for name in STUDY_BACKENDS if name in FR_BACKENDS.names())


@dataclass(frozen=True)
class MeasureConfig:
    """Settings of ``swaplab study run``: the build folder, FR backends (``None``: facenet, dlib, lbp),
    image detectors, the lip-sync detector (on or off), and an optional third-party test index
    (faceforensics, celebdf or deepfaketimit layout)."""

    build: Path
    backends: tuple[str, ...] | None = None
    detectors: tuple[str, ...] = ("iqm-svm", "iqm-lda", "mesoinception4")
    lipsync: bool = True
    bootstrap: int = 500
    seed: int = 0
    device: str = "auto"
    test_index: Path | None = None


def load_build(folder: Path) -> StudyRecord:
    return StudyRecord.from_file(StudyOutput(Path(folder)).record)


def check_enrolment(study: StudyRecord) -> None:
    """The FR protocol enrols each identity on its first video id: it must be the enrol segment."""
    first = {i: v[0] for i, v in videos_by_identity(load_faces([Path(p) for p in study.genuine], "real")).items()}
    for manifest in study.enrolment:
        record = next(r for r in read_manifest(Path(manifest)) if r.has_face)
        if first[record.identity] != record.video_id:
            raise SwaplabError(f"{manifest}: enrolment segment {record.video_id} would not be the FR enrolment "
                               f"({first[record.identity]} sorts first)")


def with_excluded(config_class: type, study: StudyRecord, manifests_field: str, **values: object) -> object:
    """A stage config with every fake of the build and ``excluded`` = the failed swaps, which the stage
    leaves out of the attacks and counts."""
    fakes = {tier: tuple(map(Path, paths)) for tier, paths in study.all_fakes().items()}
    return config_class(**values, **{manifests_field: fakes}, excluded=tuple(s.key for s in study.failed))


LIPSYNC_DETECTORS = ("lipsync", "sync-correlation")  # the LSTM and its training-free baseline


def lipsync_detector(config: MeasureConfig, study: StudyRecord) -> list[Path]:
    """The audio-visual lip-sync detectors (the LSTM and the correlation baseline) on the same real
    probes and kept fakes (failed swaps left out); returns their ``metrics.csv``. Videos without
    audio are left out and counted there."""
    out = StudyOutput(Path(config.build))
    real = videos_from_manifests([Path(p) for p in study.real_probes])
    fakes = {tier: videos_from_manifests([Path(p) for p in paths]) for tier, paths in study.fakes.items()}
    return [evaluate_lipsync(real, fakes, out.detect(name, "all").folder, cache=out.folder / "cache" / "lipsync",
                             seed=config.seed, device=config.device, detector=name)
            for name in LIPSYNC_DETECTORS]


def trained_detectors(config: MeasureConfig, study: StudyRecord) -> dict[str, Path]:
    """Train and evaluate each detector on each tier; ``name-tier`` -> saved detector."""
    out, found = StudyOutput(Path(config.build)), {}
    real = tuple(Path(p) for p in study.real_probes)  # bona fide: the same chain as the fakes
    for name in config.detectors:
        for tier in sorted(study.all_fakes()):
            target = out.detect(name, tier)
            detection.run(with_excluded(detection.DetectConfig, study, "fake", real=real, detector=name,
                                        train_tier=tier, out=target.folder, seed=config.seed))
            found[f"{name}-{tier}"] = target.detector
    return found


TRAIN_LONGER = "train the models longer (--minutes / --iterations)"


def require_attacks(study: StudyRecord) -> None:
    """Refuse a build whose every swap failed: there is no attack to measure."""
    if not any(study.fakes.values()):
        raise SwaplabError(f"every swap failed ({failed_swaps(study)}); no attack to measure: {TRAIN_LONGER}")


def failed_swaps(study: StudyRecord) -> str:
    """'F of N: reason; reason' for the build's failed swaps."""
    reasons = sorted({swap.reason.split(":")[0] for swap in study.failed})
    return f"{study.failed_count} of {len(study.swaps)}: {'; '.join(reasons)}"


def explained(error: SwaplabError, study: StudyRecord) -> SwaplabError:
    """A refusal for too few samples with the build's failed swaps named: they may be why too few fakes are left."""
    return SwaplabError(f"{error} (swaps failed: {failed_swaps(study)}; {TRAIN_LONGER})")


@contextmanager
def failed_swaps_named(study: StudyRecord) -> Iterator[None]:
    """Re-raise a stage's refusal for too few samples (:class:`TooFewSamplesError`: attacks, fakes or lip-sync
    windows) with the build's failed swaps named, when it has any; other errors pass unchanged."""
    try:
        yield
    except TooFewSamplesError as error:
        if not study.failed_count:
            raise
        raise explained(error, study) from error


def run(config: MeasureConfig) -> Path:
    """Run FR vulnerability and detection on the build; return the report page."""
    study = load_build(config.build)
    require_attacks(study)
    out = StudyOutput(Path(config.build))
    check_enrolment(study)
    with failed_swaps_named(study):  # too few attacks, fakes or lip-sync windows left
        fr.run(with_excluded(fr.FRConfig, study, "attacks", genuine=tuple(Path(p) for p in study.genuine),
                             out=out.fr.folder, backends=config.backends or default_backends(),
                             bootstrap=config.bootstrap, seed=config.seed, device=config.device))
        detectors = trained_detectors(config, study)
        if config.lipsync:
            try:
                lipsync_detector(config, study)
            except NoSoundError as err:  # the other detectors and FR stand without it
                print(f"warning: lip-sync detector not run: {err}", file=sys.stderr)
    if config.test_index is not None:
        crossdata.run(config.test_index, detectors, out.crossdata, config.device)
    save_config(config, out.run_config)
    return report.run(report.ReportConfig(Path(config.build)))
