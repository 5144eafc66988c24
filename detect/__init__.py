"""Deepfake detectors behind one small interface (see :mod:`swaplab.detect.base`)."""

from swaplab.detect import cnn as _cnn  # noqa: F401  registers mesoinception4, efficientnet
from swaplab.detect import iqm_detectors as _iqm  # noqa: F401  registers iqm-svm, iqm-lda
from swaplab.detect import lipsync as _lipsync  # noqa: F401  registers lipsync (VIDEO_DETECTORS)
