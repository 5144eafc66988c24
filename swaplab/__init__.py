"""swaplab: face-swap generation, deepfake detection and face-recognition vulnerability.

Subpackages
-----------
swaplab.datasets  manifests, dataset layouts, the embedded public-domain sample
swaplab.generate  extraction, alignment, training, swapping, compositing
swaplab.detect    deepfake detectors
swaplab.evaluate  face-recognition backends, metrics, vulnerability protocol
swaplab.reports   tables, figures, HTML report
"""

__version__ = "0.1.0"
