"""asrkit: speech recognition recipes in the Kaldi/ESPnet style."""

__version__ = "0.1.0"
