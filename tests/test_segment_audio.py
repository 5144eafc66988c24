"""A segment cut out of a real talking head keeps its own stretch of audio (the lip-sync detector needs it)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from swaplab.core.media import probe
from swaplab.datasets.video_index import VideoRecord
from swaplab.study.segments import cut_segment


def _audio(path: Path) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=16000)
        chunks = [plain.to_ndarray()[0] for frame in container.decode(stream) for plain in resampler.resample(frame)]
    return np.concatenate(chunks), 16000


def test_a_cut_segment_keeps_the_audio_of_its_time_span(media: Path, tmp_path: Path) -> None:
    video = media / "talking" / "vr_4.mp4"
    record = VideoRecord(path="vr_4.mp4", identity="vr_4", label="real", start=2.0, end=4.0)
    cut = cut_segment(video, record, tmp_path / "cut.mp4")
    info = probe(cut)
    assert info.audio_codec == "aac"
    cut_audio, rate = _audio(cut)
    assert abs(len(cut_audio) / rate - 2.0) < 0.1  # the segment's 2 s, not the whole video's sound
    whole, _ = _audio(video)
    # the cut's sound is the source's sound from 2 s on (AAC round trips: correlation, not equality)
    source = whole[2 * rate: 2 * rate + len(cut_audio)]
    best = max(np.corrcoef(cut_audio[lag:lag + rate], source[:rate])[0, 1] for lag in range(0, 2048, 64))
    assert best > 0.8
