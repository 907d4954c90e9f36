"""Scoring of model answers: VQA accuracy, answer similarity, POPE probes."""
