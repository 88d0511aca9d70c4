"""`asrkit tts eval`: the intelligibility of a voice is the WER an ASR model makes on its speech (a standard TTS metric).

OUT is a decode dir (text, token, score, confidence, ctm, score_wer/, score_cer/ as `asrkit decode` and `asrkit score`
write them) and OUT/data the synthesized speech as a data dir (`asrkit synth`'s output). Named exp/<x>/decode_<voice>,
OUT is a row of `asrkit results`.
"""

from pathlib import Path

from asrkit.data.datadir import read_dict


def evaluate_voice(text_file: Path, asr_exp: Path, out_dir: Path, spec: str, decode_config: Path | None = None) -> dict:
    """Synthesize, decode with asr_exp, score; returns the WER summary (as `asrkit score` writes it)."""
    from asrkit.asr.decode_dir import decode_and_score
    from asrkit.tts.synth import synthesize_data_dir

    data_dir = Path(out_dir) / "data"
    synthesize_data_dir(read_dict(text_file), [spec], data_dir)
    return decode_and_score(Path(asr_exp), data_dir, out_dir, decode_config)
