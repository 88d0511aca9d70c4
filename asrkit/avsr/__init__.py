"""Omni-AVSR (arXiv 2511.07253): video data, the mouth-ROI features and VSR front-end (roi.py, vsr.py), and the
LLM-backed audio-visual recogniser built on the frozen encoders' cached outputs."""
