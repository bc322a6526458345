"""Scoring detections against labels in metres, comparing models, and imaging shifts."""
