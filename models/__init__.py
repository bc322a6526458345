"""The shipped models: one folder each (safetensors weights, card, page), installed as data."""
