"""The HTML report, opened in a real headless browser (Debian's Chromium)."""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from swaplab.core.media import read_image
from swaplab.reports.report import ReportConfig, run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_report_renders_in_chromium(tiny_swap: Path, tmp_path: Path) -> None:
    if CHROMIUM is None:
        if os.environ.get("SWAPLAB_REQUIRE_BROWSER"):
            pytest.fail("SWAPLAB_REQUIRE_BROWSER is set but chromium is not installed")
        pytest.skip("chromium is not installed (make test installs it with apt-get when run as root)")
    page = run(ReportConfig(tiny_swap))
    profile = tmp_path / "profile"
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000"]
    dom = subprocess.run([*common, "--dump-dom", page.resolve().as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "<h1>swaplab report</h1>" in dom and "<table" in dom and dom.count("data:image/png;base64,") >= 3
    shot = tmp_path / "shot.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,2400", page.resolve().as_uri()],
                   capture_output=True, timeout=120, check=True)
    pixels = read_image(shot).astype(float)
    assert pixels.shape[:2] == (2400, 1200) and pixels.std() > 20  # tables and figures drawn, not a blank page
    assert np.mean(pixels < 128) > 0.01
