"""`asrkit tts-eval`: the intelligibility of a voice is the WER an ASR model makes on its speech (a standard TTS metric).

OUT is a decode dir (text, token, score, score_wer/, score_cer/ as `asrkit decode` and `asrkit score` write them)
and OUT/data the synthesized speech as a data dir (16-bit FLAC). Named exp/<x>/decode_<voice>, OUT is a row of
`asrkit results`.
"""

import re
from pathlib import Path

import soundfile

from asrkit.datadir import read_dict, write_data_dir
from asrkit.fileio import atomic_path
from asrkit.progress import progress_bar


def load_voice(spec: str):
    """A voice object with synthesize(text, rate, pitch) -> (samples, fs): `model:EXP_DIR` is a trained TTS."""
    engine, _, name = spec.partition(":")
    if engine == "model":
        from asrkit.tts_voice import ModelVoice

        return ModelVoice(Path(name))
    from asrkit.synth import load_voice as load_engine_voice

    return load_engine_voice(spec)


def speaker_id(spec: str) -> str:
    """A voice spec as a Kaldi speaker id (no '/', ':' or spaces)."""
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", spec).strip("_")


def synthesize_text(voice, spec: str, text_file: Path, out_dir: Path) -> Path:
    """Speak every line of a Kaldi text file with one voice into OUT/wav/*.flac and the data dir OUT."""
    texts = read_dict(text_file)
    out_dir = Path(out_dir)
    wav_scp, utt2dur = {}, {}
    for utt, text in progress_bar(texts.items(), total=len(texts), description=f"synth {spec}"):
        samples, fs = voice.synthesize(text)
        path = out_dir / "wav" / f"{utt}.flac"
        with atomic_path(path) as tmp:
            soundfile.write(tmp, samples, fs, format="FLAC", subtype="PCM_16")
        wav_scp[utt], utt2dur[utt] = str(path.resolve()), len(samples) / fs
    write_data_dir(out_dir, wav_scp, texts, {utt: speaker_id(spec) for utt in texts}, utt2dur=utt2dur)
    return out_dir


def evaluate_voice(text_file: Path, asr_exp: Path, out_dir: Path, spec: str, decode_config: Path | None = None) -> dict:
    """Synthesize, decode with asr_exp, score; returns the WER summary (as `asrkit score` writes it)."""
    from asrkit.batching import FeatureSet
    from asrkit.decoding import DecodeConfig, decode_data_dir, load_decode_config
    from asrkit.features import load_fbank_config
    from asrkit.scoring import score_decode_dir
    from asrkit.trainer import load_trained

    data_dir = synthesize_text(load_voice(spec), spec, text_file, Path(out_dir) / "data")
    asr, tokenizer = load_trained(Path(asr_exp))
    data = FeatureSet.from_audio(data_dir, load_fbank_config(Path(asr_exp) / "fbank.yaml"))
    config = load_decode_config(decode_config) if decode_config else DecodeConfig()
    decode_data_dir(asr, tokenizer, data, sorted(data.num_frames), config, out_dir)
    return score_decode_dir(data_dir / "text", Path(out_dir) / "text", out_dir, data_dir / "utt2spk")
