"""`asrkit tts eval`: the intelligibility of a voice is the WER an ASR model makes on its speech (a standard TTS metric).

OUT is a decode dir (text, token, score, score_wer/, score_cer/ as `asrkit decode` and `asrkit score` write them)
and OUT/data the synthesized speech as a data dir (`asrkit synth`'s output). Named exp/<x>/decode_<voice>, OUT is a row of
`asrkit results`.
"""

from pathlib import Path

from asrkit.data.datadir import read_dict


def evaluate_voice(text_file: Path, asr_exp: Path, out_dir: Path, spec: str, decode_config: Path | None = None) -> dict:
    """Synthesize, decode with asr_exp, score; returns the WER summary (as `asrkit score` writes it)."""
    from asrkit.asr.batching import FeatureSet
    from asrkit.asr.decoding import DecodeConfig, decode_data_dir, load_decode_config
    from asrkit.expdir import fbank_config, load_asr
    from asrkit.scoring import score_decode_dir
    from asrkit.tts.synth import synthesize_data_dir

    data_dir = Path(out_dir) / "data"
    synthesize_data_dir(read_dict(text_file), [spec], data_dir)
    asr, tokenizer = load_asr(Path(asr_exp))
    data = FeatureSet.from_audio(data_dir, fbank_config(asr_exp))
    config = load_decode_config(decode_config) if decode_config else DecodeConfig()
    decode_data_dir(asr, tokenizer, data, sorted(data.num_frames), config, out_dir)
    return score_decode_dir(data_dir / "text", Path(out_dir) / "text", out_dir, data_dir / "utt2spk")
