"""The DeepFaceLab-style pipeline: extract, align, train, swap, composite."""
