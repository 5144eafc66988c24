"""The core layer: config, errors, atomic files, media I/O, registries, progress, metrics.

Imports nothing else of swaplab; every other layer may import it.
"""
