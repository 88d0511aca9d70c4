"""Training shared by every model kind: the one training loop (epochs, checkpoints, resume, n-best averaging, DDP),
freezing and initialising parameters, and caches of frozen modules' outputs. What a model kind adds (its batches
and loss) lives with the model: asrkit/asr/train.py, asrkit/tts/train.py."""
