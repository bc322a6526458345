"""The detector: a compact fully-convolutional network for trench masks, position masks and
submunition centre heatmaps; its model card, training and object-level evaluation.

Import what you need from the submodules (``rams.detector.detector.Detector`` etc.); this package
does not import torch on its own.
"""
