"""`asrkit tts train`: FastSpeech2 on a data dir of real speech, with durations from `asrkit tts align`.

Targets (log-mel, token pitch and energy) are extracted once up front and kept in memory: a TTS corpus for one
speaker is small, and extracting F0 every epoch would cost more than the tiny model's training step.
Training is the shared loop's (asrkit/train/loop.py): batches are lists of Utterance, the n-best snapshots are ranked
by validation loss (TTS has no accuracy). One process: FastSpeech2 on one speaker is small. With `speakers: true`
each utterance carries its speaker's index (EXP/spk2sid, asrkit/tts/model.py).
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from asrkit.asr.batching import bucket_batches, pad
from asrkit.data.audio import iter_utterance_audio
from asrkit.data.datadir import DataDirError, load_data_dir, read_dict, write_table
from asrkit.data.tokens import Tokenizer, copy_token_dir
from asrkit.errors import AsrkitError
from asrkit.fileio import atomic_path
from asrkit.progress import progress_bar
from asrkit.train.distributed import Distributed
from asrkit.train.loop import seed_everything, set_up_logging, train_loop
from asrkit.train.options import check_resumable, write_exp_config
from asrkit.tts.align import read_durations, tts_token_ids
from asrkit.tts.features import TTSFeatureExtractor
from asrkit.tts.model import SPK2SID, TTSConfig, TTSModel, read_spk2sid

log = logging.getLogger("asrkit.tts.train")


@dataclass
class Utterance:
    tokens: np.ndarray  # (T_text,) ids
    durations: np.ndarray  # (T_text + 1,) frames, eos last
    mel: np.ndarray  # (frames, n_mels)
    pitch: np.ndarray  # (T_text + 1,) token-averaged log F0
    energy: np.ndarray  # (T_text + 1,)
    sid: int = 0  # the speaker's index in EXP/spk2sid (0 for a single-speaker model)


def load_utterances(data_dir: Path, alignment_dir: Path, tokenizer: Tokenizer, extractor: TTSFeatureExtractor,
                    spk2sid: dict[str, int] | None = None) -> dict[str, Utterance]:
    """Every utterance of data_dir with its tokens, durations, targets (and speaker index, given spk2sid); a mismatch
    names the utterance."""
    data = load_data_dir(data_dir)
    text = read_dict(Path(data_dir) / "text")
    durations = read_durations(Path(alignment_dir) / "durations")
    missing = [utt for utt in data.utt_ids if utt not in durations]
    if missing:
        raise DataDirError(f"{alignment_dir}/durations: no durations for {len(missing)} utterance(s), e.g. '{missing[0]}'")
    utts = {}
    audio = iter_utterance_audio(data, extractor.config.fs)
    for utt, samples in progress_bar(audio, total=len(data.utt_ids), description="tts features"):
        tokens = tts_token_ids(tokenizer, text[utt])
        if len(durations[utt]) != len(tokens):
            raise DataDirError(f"utterance '{utt}': {len(durations[utt])} durations for {len(tokens)} tokens "
                               f"(was {alignment_dir} aligned from this text?)")
        utt_durations = [*durations[utt], 0]  # FastSpeech2's eos takes no frames
        try:
            mel, pitch, energy = extractor(samples, utt_durations)
        except ValueError as error:
            raise DataDirError(f"utterance '{utt}': {error}") from None
        sid = spk2sid[data.utt2spk[utt]] if spk2sid else 0
        utts[utt] = Utterance(np.array(tokens), np.array(utt_durations), mel, pitch, energy, sid)
    return utts


def target_stats(utts: list[Utterance]) -> dict[str, np.ndarray]:
    """Mean and standard deviation of mel frames (per bin), and of pitch and energy over real tokens."""
    mel = np.concatenate([u.mel for u in utts])
    pitch = np.concatenate([u.pitch[:-1] for u in utts])
    energy = np.concatenate([u.energy[:-1] for u in utts])
    return {"mel_mean": mel.mean(0), "mel_std": mel.std(0) + 1e-5,
            "pitch_mean": pitch.mean(), "pitch_std": pitch.std() + 1e-5,
            "energy_mean": energy.mean(), "energy_std": energy.std() + 1e-5}


def make_batch(utts: list[Utterance]):
    """Padded (text, text_lens, mel, mel_lens, durations, pitch, energy, sids) tensors."""
    text, text_lens = pad([torch.from_numpy(u.tokens) for u in utts], 0)
    mel, mel_lens = pad([torch.from_numpy(u.mel) for u in utts], 0.0)
    durations, _ = pad([torch.from_numpy(u.durations) for u in utts], 0)
    pitch, _ = pad([torch.from_numpy(u.pitch) for u in utts], 0.0)
    energy, _ = pad([torch.from_numpy(u.energy) for u in utts], 0.0)
    sids = torch.tensor([u.sid for u in utts], dtype=torch.long)
    return text, text_lens, mel, mel_lens, durations, pitch, energy, sids


def prepare_exp_dir(exp_dir: Path, config_file: Path, data_dir: Path, alignment_dir: Path,
                    resume: bool = False) -> TTSConfig:
    """Copy what synthesis needs (config, token list, speaker indices) into the exp dir, so it stands on its own (a
    resumed run: with the options and inputs it was trained with, the vocoder aside; check_resumable)."""
    config = TTSConfig.load(config_file)
    config.features = config.feature_config.as_dict()  # defaults written out: synthesis must match training
    speakers = sorted(set(load_data_dir(data_dir).utt2spk.values())) if config.speakers else []
    if config.speakers:
        config.model = {**config.model, "spks": len(speakers)}
    resolved = {**config.__dict__, "inputs": {"data": str(data_dir), "alignment": str(alignment_dir)}}
    check_resumable(exp_dir, resolved, resume, may_change=("vocoder",))  # Griffin-Lim runs after training
    exp_dir.mkdir(parents=True, exist_ok=True)
    if config.speakers:
        write_table(exp_dir / SPK2SID, {spk: str(sid) for sid, spk in enumerate(speakers)})
    copy_token_dir(alignment_dir, exp_dir)
    write_exp_config(exp_dir, resolved)
    return config


def train_tts(data_dir: Path, exp_dir: Path, config_file: Path, alignment_dir: Path, resume: bool = False) -> Path:
    """Train as config_file says; returns the averaged model file."""
    exp_dir = Path(exp_dir)
    config = prepare_exp_dir(exp_dir, config_file, data_dir, alignment_dir, resume)
    set_up_logging(exp_dir / "train.log", is_main=True)
    tokenizer = Tokenizer.from_dir(exp_dir)
    spk2sid = read_spk2sid(exp_dir) if config.speakers else None
    utts = load_utterances(data_dir, alignment_dir, tokenizer, TTSFeatureExtractor(config.feature_config), spk2sid)
    ids = sorted(utts)
    if len(ids) <= config.valid_utts:
        raise AsrkitError(f"{data_dir}: {len(ids)} utterances leave none to train on after {config.valid_utts} for validation")
    train_ids, valid_ids = ids[: len(ids) - config.valid_utts], ids[len(ids) - config.valid_utts :]
    stats = target_stats([utts[u] for u in train_ids])
    with atomic_path(exp_dir / "stats.npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, **stats)
    log.info(f"{len(train_ids)} train / {len(valid_ids)} valid utterances")

    seed_everything(config.seed)
    model = TTSModel(config, tokenizer.vocab_size, stats)
    dist_env = Distributed(single=True)

    def step(model, batch: list[Utterance]) -> dict:
        return model(*(t.to(dist_env.device) for t in make_batch(batch)))

    return train_loop(exp_dir, model, config, step, _batches(utts, train_ids, config.batch_frames),
                      _batches(utts, valid_ids, config.batch_frames), dist_env, config_file, resume)


def _batches(utts: dict[str, Utterance], ids: list[str], batch_frames: int) -> list[list[Utterance]]:
    return [[utts[u] for u in batch] for batch in bucket_batches({u: len(utts[u].mel) for u in ids}, batch_frames)]
