"""Omni-AVSR (arXiv 2511.07253): video data, the mouth-ROI features and VSR front-end (roi.py, vsr.py), and the
LLM-backed audio-visual recogniser built on the frozen encoders' cached outputs: the frozen LLM (llm.py), the model
(model.py: pooling per rate, projectors, marker embeddings, LoRA S/T/ST), its training and decoding (train.py,
decode.py; `asrkit avsr train|decode`, cli.py)."""
