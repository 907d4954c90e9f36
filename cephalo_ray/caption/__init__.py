"""Batch captioning and VQA over image folders, extract roots and refine roots."""
