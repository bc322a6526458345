"""Surveys straight from a drone's photographs: tags, camera model, placement, one point per item."""
