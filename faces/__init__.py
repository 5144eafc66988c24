"""Face code shared by every stage: detection, tracking, alignment, extraction, FR embeddings.

Registers the FR backends (``FR_BACKENDS``) on import.
"""

from swaplab.faces import facenet as _facenet  # noqa: F401  registers facenet, facenet-cv2
from swaplab.faces import dlib_fr as _dlib_fr  # noqa: F401  registers dlib
from swaplab.faces import lbp as _lbp  # noqa: F401  registers lbp
