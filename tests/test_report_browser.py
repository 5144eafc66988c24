"""The HTML report of a tiny study, opened in a real headless browser (Debian's Chromium) at 1280 px."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from swaplab.core.media import read_image
from swaplab.datasets.study_record import SegmentUse, StudyRecord, SwapResult
from swaplab.evaluate.fr import FRConfig
from swaplab.evaluate.fr import run as run_fr
from swaplab.reports import columns as C
from swaplab.reports.report import ReportConfig, run
from swaplab.study import build

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTH = 1280
# Appended to a copy of the page: opens folded tables, then measures what a reader would see.
PROBE = """<script>
window.addEventListener('load', () => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const root = document.documentElement;
  const images = [...document.images];
  const wide = [...document.querySelectorAll('table, figure, img, pre, p, li')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5 || e.scrollWidth > e.clientWidth + 1)
    .filter(e => e.tagName !== 'IMG')
    .map(e => e.tagName + '#' + e.id);
  const found = {width: window.innerWidth, scroll: root.scrollWidth, images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt), wide: wide,
    tables: document.querySelectorAll('table').length,
    findings: [...document.querySelectorAll('#summary li.finding')].map(li => li.textContent)};
  const out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>"""


def chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("SWAPLAB_REQUIRE_BROWSER"):
            pytest.fail("SWAPLAB_REQUIRE_BROWSER is set but chromium is not installed")
        pytest.skip("chromium is not installed (make test installs it with apt-get when run as root)")
    return CHROMIUM


@pytest.fixture(scope="module")
def tiny_study(sample_faces: dict[str, Path], tiny_swap: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny swap with an FR protocol run (LBP backend) and a ``study.json`` beside it, as
    ``study run`` lays out."""
    study = tmp_path_factory.mktemp("study") / "study"
    shutil.copytree(tiny_swap, study, ignore=shutil.ignore_patterns("report"))
    run_fr(FRConfig(genuine=tuple(sample_faces.values()), out=study / "fr", backends=("lbp",), bootstrap=20,
                    attacks={"hq": (study / "swap" / "fakes" / "faces.csv",)}, device="cpu"))
    video = str(next((study / "swap").glob("*.swapped.mp4")))
    uses = tuple(SegmentUse(who, f"{who}/{who}_00.mp4", f"s{i:03d}", 2.0 * i, 2.0 * i + 2, role, f"{who}_00.s{i:03d}",
                            str(manifest)) for who, manifest in sample_faces.items()
                 for i, role in enumerate(("enrol", "train", "probe")))
    swap = SwapResult("hq", "astronaut", "grace_hopper", "grace_hopper_01", video, "", 0.5, 0.99, True,
                      "face_change 0.50 < 2.0: the face was left as it was")
    StudyRecord((), (), {}, (swap,), uses, (("astronaut", "grace_hopper"),), build.chains(),
                build.failed_rule(build.BuildConfig(index=study / "index.csv", out=study)),
                roles=build.ROLES).to_file(study / "study.json")
    return study


def measure(page: Path, profile: Path) -> dict:
    """Open a probed copy of ``page`` at 1280 px and return what the probe found."""
    probed = page.with_name("probe.html")
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                          f"--window-size={WIDTH},1000", "--dump-dom", probed.resolve().as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    probed.unlink()
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe script did not run"
    return json.loads(html.unescape(found.group(1)))


def expected_cell(row: dict) -> str:
    """The IAPMR cell computed here from metrics.csv: percent with one decimal and the 95 % interval."""
    value, low, high = (row[k] for k in (C.FR_IAPMR.key, C.FR_IAPMR.low, C.FR_IAPMR.high))
    return f"{100 * value:.1f}% [{100 * low:.1f}–{100 * high:.1f}]"


def test_report_reads_well_in_chromium(tiny_study: Path, tmp_path: Path) -> None:
    page = run(ReportConfig(tiny_study))
    found = measure(page, tmp_path / "profile")
    assert found["width"] == WIDTH
    assert found["scroll"] <= WIDTH and not found["wide"], found  # no horizontal overflow at 1280 px
    assert found["images"] >= 4 and not found["broken"], found  # every figure decoded (naturalWidth > 0)
    assert found["tables"] >= 5
    # the summary: one sentence per FR system and tier, its percentages those of metrics.csv
    metrics = pd.read_csv(tiny_study / "fr" / "metrics.csv")
    frame = metrics[metrics.level == "frame"]
    fr_findings = [s for s in found["findings"] if "deepfakes as the claimed person" in s]
    assert len(fr_findings) == len(frame) >= 1
    for row in frame.to_dict("records"):
        name = C.display_name(row[C.FR_BACKEND.key])
        sentence = next(s for s in fr_findings if s.startswith(name) and f" of {row[C.FR_TIER.key]} deepfakes" in s)
        assert expected_cell(row) in sentence
        assert f"licit EER {100 * row[C.FR_LICIT_EER.key]:.1f}%" in sentence
    # files for papers, listed in README.txt
    listing = (page.parent / "README.txt").read_text()
    for name in ("tables/fr.csv", "tables/fr.tex", "tables/swaps.tex", "tables/study_segments.tex",
                 "tables/study_failed_swaps.csv", "figures/vuln-lbp-frame-hq.pdf"):
        assert name in listing and (page.parent / name).is_file()


def test_report_screenshot_is_drawn(tiny_study: Path, tmp_path: Path) -> None:
    page = run(ReportConfig(tiny_study))
    shot = tmp_path / "shot.png"
    subprocess.run([chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
                    f"--screenshot={shot}", f"--window-size={WIDTH},2400", page.resolve().as_uri()],
                   capture_output=True, timeout=120, check=True)
    pixels = read_image(shot).astype(float)
    assert pixels.shape[:2] == (2400, WIDTH) and pixels.std() > 20  # tables and figures drawn, not a blank page
    assert np.mean(pixels < 128) > 0.01
