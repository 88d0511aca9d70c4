"""`asrkit tts eval`: the intelligibility of a voice is the WER an ASR model makes on its speech (a standard TTS metric).

OUT is a decode dir (text, token, score, confidence, ctm, score_wer/, score_cer/ as `asrkit decode` and `asrkit score`
write them) and OUT/data the synthesized speech as a data dir (`asrkit synth`'s output). Named exp/<x>/decode_<voice>,
OUT is a row of `asrkit results`.
"""

from pathlib import Path

from asrkit.data.datadir import read_dict


def evaluate_voice(text_file: Path, asr_exp: Path, out_dir: Path, spec: str, decode_config: Path | None = None) -> dict:
    """Synthesize, decode with asr_exp, score; returns the WER summary (as `asrkit score` writes it)."""
    from asrkit.asr.decode_dir import decode_data_dir, write_decode_dir
    from asrkit.asr.decoding import DecodeConfig, load_decode_config
    from asrkit.scoring import score_decode_dir
    from asrkit.tts.synth import synthesize_data_dir

    data_dir = Path(out_dir) / "data"
    synthesize_data_dir(read_dict(text_file), [spec], data_dir)
    config = load_decode_config(decode_config) if decode_config else DecodeConfig()
    write_decode_dir(decode_data_dir(Path(asr_exp), data_dir, config), out_dir, config.nbest)
    return score_decode_dir(data_dir / "text", Path(out_dir) / "text", out_dir, data_dir / "utt2spk")
