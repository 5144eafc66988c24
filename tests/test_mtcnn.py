"""Our MTCNN cascade (``faces/mtcnn.py``) against facenet-pytorch's own ``detect`` on real frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from swaplab.core.media import iter_frames
from swaplab.faces.detector import FaceDetector, iou
from swaplab.faces.mtcnn import pyramid_scales


def test_pyramid_starts_at_the_smallest_face_and_stops_at_the_cell() -> None:
    scales = pyramid_scales(480, 640, min_face=40)
    assert scales[0] == 12 / 40 and np.allclose(np.diff(np.log(scales)), np.log(0.709))
    assert 480 * scales[-1] >= 12 > 480 * scales[-1] * 0.709


def test_cascade_finds_the_faces_facenet_pytorch_finds(media: Path) -> None:
    detector = FaceDetector(device="cpu")
    frames = [f.image for clip in ("multi/group_one_shot.mp4", "multi/tears_of_steel_multishot.mp4")
              for f in iter_frames(media / clip) if f.index in (5, 70, 120)]
    ours_total = theirs_total = 0
    errors = []
    for image in frames:
        ours = detector.detect(image[None])[0]
        boxes, _, points = detector._mtcnn.detect(image[None].copy(), landmarks=True)
        theirs = [] if boxes[0] is None else list(zip(boxes[0], points[0], strict=True))
        ours_total, theirs_total = ours_total + len(ours), theirs_total + len(theirs)
        assert [d.area for d in ours] == sorted((d.area for d in ours), reverse=True)  # largest first
        for box, landmarks in theirs:
            match = max(ours, key=lambda det: iou(det.box, box))
            width = box[2] - box[0]
            if width >= 40:  # at or above the detector's smallest face, every face is found again
                assert iou(match.box, box) > 0.7
            if iou(match.box, box) > 0.5:
                errors.append(np.abs(match.landmarks - landmarks).max() / width)
    assert theirs_total >= 10 and abs(ours_total - theirs_total) <= max(2, theirs_total // 10)
    assert np.median(errors) < 0.05  # landmarks agree to a few % of the face width (resampling differs)
