"""The report's parts on tiny synthetic metrics: summary sentences, printed cells, LaTeX, figures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from swaplab.reports import columns as C
from swaplab.reports.fr_figures import draw_fr_run, scores_separate
from swaplab.datasets.study_record import SegmentUse, StudyRecord, SwapResult
from swaplab.reports.sections import fr_section, study_section
from swaplab.reports.summary import detection_sentences, fr_sentences, summary_sentences
from swaplab.reports.tables import Table, to_html, to_latex, write_table

FR_METRICS = pd.DataFrame([
    {"backend": "facenet", "level": "frame", "tier": "hq", "dev_eer": 0.004, "eval_hter": 0.01, "iapmr": 0.1234,
     "iapmr_cp_low": 0.0812, "iapmr_cp_high": 0.1791, "iapmr_boot_low": 0.05, "iapmr_boot_high": 0.25,
     "iapmr_at_fmr_0p1pct": np.nan, "n_attacks_eval": 120},
    {"backend": "facenet", "level": "video", "tier": "hq", "dev_eer": 0.0, "eval_hter": 0.0, "iapmr": 0.5,
     "iapmr_cp_low": 0.2, "iapmr_cp_high": 0.8, "iapmr_boot_low": np.nan, "iapmr_boot_high": np.nan,
     "iapmr_at_fmr_0p1pct": np.nan, "n_attacks_eval": 4},
    {"backend": "lbp", "level": "frame", "tier": "lq", "dev_eer": 0.2, "eval_hter": 0.25, "iapmr": np.nan,
     "iapmr_cp_low": np.nan, "iapmr_cp_high": np.nan, "iapmr_boot_low": np.nan, "iapmr_boot_high": np.nan,
     "iapmr_at_fmr_0p1pct": np.nan, "n_attacks_eval": 0, "iapmr_reason": "no attack in eval"},
])
DETECTION = pd.DataFrame([
    {"detector": "iqm-svm", "level": "frame", "train_tier": "hq", "condition": "in-distribution", "tier": "hq",
     "eval_hter": 0.0625, "eval_apcer": 0.05, "eval_bpcer": 0.075, "eval_eer_oracle": 0.06},
    {"detector": "iqm-svm", "level": "frame", "train_tier": "hq", "condition": "cross-condition", "tier": "lq",
     "eval_hter": 0.3, "eval_apcer": 0.5, "eval_bpcer": 0.1, "eval_eer_oracle": 0.2},
    {"detector": "iqm-svm", "level": "video-mean", "train_tier": "hq", "condition": "in-distribution", "tier": "hq",
     "eval_hter": 0.9, "eval_apcer": 0.9, "eval_bpcer": 0.9, "eval_eer_oracle": 0.9},
])


def test_summary_is_written_from_the_computed_figures() -> None:
    sentences = fr_sentences(FR_METRICS)
    assert len(sentences) == 2  # one per system and tier, frame level only
    assert sentences[0] == ("FaceNet (InceptionResNetV1, VGGFace2, 512-d) accepted 12.3% [8.1–17.9] of hq deepfakes "
                            "as the claimed person at its licit-EER threshold (subject-bootstrap interval "
                            "[5.0–25.0]; licit EER 0.4% on dev; published on DeepfakeTIMIT: 95.00% IAPMR).")
    assert "n/a (no attack in eval)" in sentences[1] and "published" not in sentences[1]
    found = detection_sentences(DETECTION)
    assert found[0].startswith("IQM+SVM, trained and tested on each tier, had an HTER at its dev threshold of "
                               "6.2% on hq")
    assert "APCER 5.0%" in found[0] and "BPCER 7.5%" in found[0] and "published on DeepfakeTIMIT: 8.97% EER" in found[0]
    assert found[1] == "IQM+SVM on a tier it did not train on: HTER 30.0% (trained on hq, tested on lq)."
    assert "90.0%" not in " ".join(found)  # the video level is not the headline
    clip = {"detector": "lipsync", "level": "clip", "train_tier": "all", "condition": "pooled", "tier": "lq",
            "eval_hter": 0.45, "eval_apcer": 0.5, "eval_bpcer": 0.4}
    with_lipsync = detection_sentences(pd.concat([DETECTION, pd.DataFrame([clip])], ignore_index=True))
    assert with_lipsync[-1].startswith("Lip-sync (mouth landmarks + MFCC, LSTM), trained on every tier, had an HTER "
                                       "at its dev threshold of 45.0% on lq")  # a clip-level detector keeps its level
    assert "published on DeepfakeTIMIT: 41.80% EER" in with_lipsync[-1]
    assert summary_sentences(None, None) == []


def test_summary_survives_renamed_and_missing_columns() -> None:
    slim = FR_METRICS.drop(columns=["iapmr_cp_low", "iapmr_cp_high", "eval_hter"])
    sentence = fr_sentences(slim)[0]
    assert "accepted 12.3% of hq deepfakes" in sentence
    shown = C.readable(slim, C.FR_COLUMNS)
    assert C.FR_LICIT_HTER.header not in shown.columns and shown.iloc[0][C.FR_IAPMR.header] == "12.3%"
    nan_ci = FR_METRICS.assign(iapmr_cp_low=np.nan, iapmr_cp_low_reason="too few subjects")
    assert C.format_cell(nan_ci.iloc[0].to_dict(), C.FR_IAPMR) == "12.3% [interval n/a: too few subjects]"
    # files written before the renaming read the same
    old = FR_METRICS.rename(columns={"iapmr_cp_low": "iapmr_ci_low", "iapmr_cp_high": "iapmr_ci_high"})
    assert fr_sentences(C.normalise(old)) == fr_sentences(FR_METRICS)


def test_nan_figures_say_why_from_metrics_json() -> None:
    details = {"results": [{"backend": "facenet", "level": "frame", "tier": "hq",
                            "iapmr_bootstrap": {"low": None, "high": None, "note": "fewer than 5 subjects"},
                            "operating_points": {"0p1pct": {"reason": "dev has 120 impostor scores, < 3000"},
                                                 "1pct": {"reason": ""}}}]}
    reasons = C.json_reasons(details)
    merged = FR_METRICS.iloc[[1]].assign(level="frame").merge(reasons, on=["backend", "level", "tier"])
    shown = C.readable(merged, C.FR_COLUMNS).iloc[0]
    assert shown[C.FR_IAPMR_BOOT.header] == "n/a (fewer than 5 subjects)"
    assert shown["IAPMR at FMR = 0.1% (eval)"] == "n/a (dev has 120 impostor scores, < 3000)"
    assert C.readable(FR_METRICS, C.FR_COLUMNS).iloc[0][C.FR_IAPMR_BOOT.header] == "[5.0–25.0]"
    cells, notes = C.footnotes(C.readable(merged, C.FR_COLUMNS))  # a reason is written once, under the table
    assert cells.iloc[0][C.FR_IAPMR_BOOT.header] == "n/a (note 1)"
    assert notes == ["fewer than 5 subjects", "dev has 120 impostor scores, < 3000"]
    assert C.with_notes("T.", notes).endswith(
        "Notes: (1) fewer than 5 subjects; (2) dev has 120 impostor scores, < 3000.")


def test_tables_print_percent_with_interval_and_go_to_latex(tmp_path: Path) -> None:
    shown = C.readable(FR_METRICS, C.FR_COLUMNS)
    assert list(shown.columns[:3]) == ["FR system", "Deepfake tier", "Licit EER (dev)"]
    assert shown.iloc[0][C.FR_IAPMR.header] == "12.3% [8.1–17.9]" and shown.iloc[2][C.FR_IAPMR.header] == \
        "n/a (no attack in eval)"
    table = Table("fr", "IAPMR on eval; segment split", shown)
    latex = to_latex(table)
    assert "\\toprule" in latex and "\\midrule" in latex and "\\bottomrule" in latex
    assert "12.3\\% [8.1--17.9]" in latex and "\\caption{IAPMR on eval; segment split}" in latex
    csv, tex = write_table(table, tmp_path)
    assert pd.read_csv(csv).iloc[0][C.FR_IAPMR.header] == "12.3% [8.1–17.9]" and tex.read_text() == latex
    page = to_html(table)
    assert "<caption>IAPMR on eval; segment split" in page and 'href="tables/fr.tex"' in page


def synthetic_fr_run(folder: Path, separate: bool) -> Path:
    """An ``evaluate fr`` output folder with one backend, frame level, one tier, from seeded scores."""
    rng = np.random.default_rng(0)
    rows = []
    for split in ("dev", "eval"):
        genuine = rng.normal(0.8 if separate else 0.55, 0.05, 60)
        zei = rng.normal(0.2, 0.05, 120) if separate else rng.normal(0.45, 0.08, 120)
        attack = rng.normal(0.6, 0.1, 60)
        for kind, values in (("genuine", genuine), ("zei", zei), ("attack", attack)):
            rows += [{"claimed": "a", "real": "a", "probe": f"p{i}", "video": "v", "kind": kind, "split": split,
                      "tier": "hq" if kind == "attack" else "", "score": v} for i, v in enumerate(values)]
    scores = pd.DataFrame(rows)
    (folder / "scores" / "lbp" / "frame").mkdir(parents=True)
    scores.to_csv(folder / "scores" / "lbp" / "frame" / "scores.csv", index=False)
    threshold = 0.5
    attack_eval = scores[(scores.kind == "attack") & (scores.split == "eval")].score
    iapmr = float(np.mean(attack_eval >= threshold))
    found = {"backend": "lbp", "level": "frame", "tier": "hq", "threshold": threshold, "dev_eer": 0.0,
             "iapmr": {"value": iapmr, "ci_low": 0.0, "ci_high": 1.0, "n": 60}}
    (folder / "metrics.json").write_text(json.dumps({"split": "identity", "results": [found]}))
    pd.DataFrame([{"backend": "lbp", "level": "frame", "tier": "hq", "dev_eer": 0.0, "iapmr": iapmr,
                   "iapmr_cp_low": 0.0, "iapmr_cp_high": 1.0}]).to_csv(folder / "metrics.csv", index=False)
    return folder


@pytest.mark.parametrize("separate", [True, False])
def test_det_curve_only_where_scores_overlap(tmp_path: Path, separate: bool) -> None:
    fr_dir = synthetic_fr_run(tmp_path / "fr", separate)
    drawn = draw_fr_run(fr_dir, tmp_path / "figures")
    names = sorted(p.name for p in drawn)
    assert names == (["vuln-lbp-frame-hq.png"] if separate else ["det-lbp-frame-hq.png", "vuln-lbp-frame-hq.png"])
    assert all(p.is_file() and p.with_suffix(".pdf").is_file() for p in drawn)
    assert scores_separate(np.array([0.1, 0.2]), np.array([0.3]))
    assert not scores_separate(np.array([0.4]), np.array([0.3]))


def test_fr_section_captions_the_split(tmp_path: Path) -> None:
    synthetic_fr_run(tmp_path / "fr", separate=True)
    body, legacy, tables = fr_section(tmp_path, tmp_path / "report" / "figures")
    assert "identity split" in tables[0].caption and "No DET curve for lbp-frame-hq" in body
    assert legacy.loc[0, "FR system"] == "lbp"  # the machine-readable table keeps code names and fractions
    assert re.search(r"<td>LBP histograms \(no learning\)</td>", body)


def tiny_record() -> StudyRecord:
    """Two people, three roles each, one tier: two swaps, the second failed."""
    uses = tuple(SegmentUse(person, f"{person}/clip.mp4", f"s{i:02d}", 4.0 * i, 4.0 * i + 4, role,
                            f"clip.s{i:02d}", f"/x/{person}/{role}.faces.csv")
                 for person in ("bob", "alice") for i, role in ((2, "probe"), (0, "enrol"), (1, "train")))
    swaps = (SwapResult("lq", "alice", "bob", "clip.s02", "/x/a.swapped.mp4", "/x/a/faces.csv", 21.5, 0.41, False),
             SwapResult("lq", "bob", "alice", "clip.s02", "/x/b.swapped.mp4", "/x/b/faces.csv", 0.7, 0.93, True,
                        "face_change 0.7 < 2.0"))
    chains = {"enrolment": ("source video (as published)", "extract whole video"),
              "fake": ("source video (as published)", "cut H.264 crf=18", "swap", "extract")}
    return StudyRecord(("/x/e.csv",), ("/x/r.csv",), {"lq": ("/x/a/faces.csv",)}, swaps, uses,
                       (("alice", "bob"),), chains, "a swap is failed when face_change < 2.0",
                       roles={"enrol": "FR enrolment only", "train": "generator training only", "probe": "probes"})


def test_study_section_shows_segments_chains_and_failed_swaps(tmp_path: Path) -> None:
    assert study_section(tmp_path) == ("", [])  # no study.json: no section
    tiny_record().to_file(tmp_path / "study.json")
    body, tables = study_section(tmp_path)
    assert [t.name for t in tables] == ["study_segments", "study_chains", "study_swaps", "study_failed_swaps"]
    segments = tables[0].frame
    assert list(segments["Identity"]) == ["alice"] * 3 + ["bob"] * 3
    assert list(segments["Role"][:3]) == ["enrol", "train", "probe"]  # role order, not the record's order
    assert list(segments["Seconds"][:3]) == ["0.0–4.0", "4.0–8.0", "8.0–12.0"]
    assert tables[0].caption.endswith("Roles: enrol: FR enrolment only; train: generator training only; probe: probes.")
    assert tables[1].frame.iloc[1].tolist() == ["fake", "source video (as published) → cut H.264 crf=18 → swap → extract"]
    assert tables[2].frame.iloc[0].tolist() == ["lq", 2, 1, 1]
    assert "1 failed swap(s)" in tables[2].caption and "Rule: a swap is failed when face_change < 2.0" in \
        tables[2].caption
    assert tables[3].frame.iloc[0][["Claimed (shown)", "Filmed", "Why"]].tolist() == ["bob", "alice",
                                                                                    "face_change 0.7 < 2.0"]
    assert "<h2>Study design</h2>" in body and 'id="table-study_failed_swaps"' in body
    (tmp_path / "study.json").write_text(json.dumps({"genuine": [], "fakes": {}}))  # version 1: say so, no crash
    body, tables = study_section(tmp_path)
    assert tables == [] and "version 1 is from an older swaplab" in body
