"""TTS: engine voices and `asrkit synth`, CTC forced alignment, FastSpeech2 (features, model, training, vocoder,
the trained voice) and intelligibility evaluation (`asrkit tts align|train|eval`)."""
