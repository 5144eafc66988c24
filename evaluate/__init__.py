"""Face-recognition backends, metrics and the vulnerability protocol."""

from swaplab.evaluate import facenet as _facenet  # noqa: F401  registers the FaceNet backends
