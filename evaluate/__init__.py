"""Face-recognition backends, metrics and the vulnerability protocol."""

from swaplab.evaluate import facenet as _facenet  # noqa: F401  registers facenet, facenet-cv2
from swaplab.evaluate import lbp as _lbp  # noqa: F401  registers lbp
