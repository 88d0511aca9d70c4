"""Log-mel filterbank features: Kaldi-compatible fbank (or an imported model's espnet2 frontend) written to
ark/scp, and global CMVN stats.

Feature extraction is split Kaldi-style: job J of N handles the J-th contiguous share of the sorted
utterance ids and writes `FEATDIR/raw_fbank_<data>.J.{ark,num_frames,yaml,scp}` (yaml: the fbank config). The scp
is written last (atomically), so its presence marks a finished job, and a re-run with the same config skips it.
"""

import functools
from dataclasses import dataclass
from pathlib import Path

import kaldiio
import numpy as np
import torch
import torchaudio
import yaml

from asrkit.config import load_config
from asrkit.data.audio import iter_utterance_audio
from asrkit.data.datadir import (
    DATA_FBANK_CONFIG,
    DataDir,
    DataDirError,
    load_data_dir,
    read_dict,
    write_table,
)
from asrkit.fileio import atomic_path, atomic_write
from asrkit.progress import progress_bar


@dataclass
class FbankConfig:
    fs: int = 16000  # Hz; audio at other rates is resampled to this first
    n_mels: int = 80  # mel bins = feature dimension
    frame_length_ms: float = 25.0  # analysis window
    frame_shift_ms: float = 10.0  # hop: 100 frames per second
    # espnet2 DefaultFrontend's frontend_conf (n_fft, hop_length, ...): its STFT log-mel instead of Kaldi's fbank,
    # for models imported from ESPnet that read waveforms (asrkit/interop/espnet.py).
    espnet_frontend: dict | None = None

    def frame_shift_s(self) -> float:
        """Seconds between two feature frames."""
        if self.espnet_frontend is not None:
            return self.espnet_frontend.get("hop_length", 128) / self.fs  # 128: DefaultFrontend's default
        return self.frame_shift_ms / 1000


def load_fbank_config(path) -> FbankConfig:
    return load_config(FbankConfig, path, "fbank")


def fbank(samples: np.ndarray, config: FbankConfig) -> np.ndarray:
    """(num_samples,) float waveform in [-1, 1] at config.fs -> (num_frames, n_mels) log-mel fbank."""
    if config.espnet_frontend is not None:
        return espnet_log_mel(samples, config.espnet_frontend)
    # Kaldi computes on the 16-bit integer scale; keep its dynamic range so stats match Kaldi's.
    waveform = torch.from_numpy(samples).float().unsqueeze(0) * 32768
    feats = torchaudio.compliance.kaldi.fbank(
        waveform,
        sample_frequency=config.fs,
        num_mel_bins=config.n_mels,
        frame_length=config.frame_length_ms,
        frame_shift=config.frame_shift_ms,
        dither=0.0,
        energy_floor=0.0,
    )
    return feats.numpy()


def espnet_frontend(frontend_conf: dict) -> torch.nn.Module:
    """espnet2's DefaultFrontend (STFT, power, log-mel) for a frontend_conf, built once per conf."""
    return _build_espnet_frontend(yaml.safe_dump(frontend_conf, sort_keys=True))


@functools.cache
def _build_espnet_frontend(frontend_conf_yaml: str) -> torch.nn.Module:
    from espnet2.asr.frontend.default import DefaultFrontend

    return DefaultFrontend(**yaml.safe_load(frontend_conf_yaml)).eval()


@torch.no_grad()
def espnet_log_mel(samples: np.ndarray, frontend_conf: dict) -> np.ndarray:
    """What espnet2's DefaultFrontend computes from one utterance's waveform, as Speech2Text feeds it."""
    frontend = espnet_frontend(frontend_conf)
    waveform = torch.from_numpy(samples).float().unsqueeze(0)
    feats, _ = frontend(waveform, torch.tensor([waveform.shape[1]]))
    return feats[0].numpy()


def job_share(utt_ids: list[str], nj: int, job: int) -> list[str]:
    """The job-th (1-based) of nj contiguous, near-equal shares of utt_ids (Kaldi split_scp.pl)."""
    if not 1 <= job <= nj:
        raise DataDirError(f"job {job} is outside 1..{nj}")
    n = len(utt_ids)
    return utt_ids[(job - 1) * n // nj : job * n // nj]


def part_paths(data_dir: Path, feat_dir: Path, job: int) -> tuple[Path, Path, Path, Path]:
    """A job's ark, frame counts, fbank config and scp; the scp is written last and marks the job done."""
    stem = f"raw_fbank_{Path(data_dir).name}.{job}"
    return tuple(Path(feat_dir) / f"{stem}.{kind}" for kind in ("ark", "num_frames", "yaml", "scp"))


def compute_fbank_job(data_dir, feat_dir, config: FbankConfig, nj: int = 1, job: int = 1) -> Path:
    """Extract job `job` of `nj`; returns its scp. Skips the work when a complete scp is already there."""
    data = load_data_dir(data_dir)
    utt_ids = job_share(data.utt_ids, nj, job)
    ark, num_frames, config_yaml, scp = part_paths(data_dir, feat_dir, job)
    if scp.exists() and set(read_dict(scp)) == set(utt_ids) and _saved_config(config_yaml) == config:
        return scp
    Path(feat_dir).mkdir(parents=True, exist_ok=True)
    # The scps that point into the ark about to be replaced would read the new one at the old offsets: gone first, so
    # the job reads as unfinished (and the data dir as without features) until it is done and merged again.
    for stale in (scp, Path(data_dir) / "feats.scp"):
        stale.unlink(missing_ok=True)
    entries, frames = [], []
    with atomic_path(ark) as tmp_ark, open(tmp_ark, "wb") as f:
        audio = iter_utterance_audio(_subset(data, utt_ids), config.fs)
        for utt_id, samples in progress_bar(audio, total=len(utt_ids), description=f"fbank {job}/{nj}"):
            feats = fbank(samples, config)
            offset = f.tell()
            kaldiio.save_ark(f, {utt_id: feats})
            entries.append((utt_id, f"{ark.resolve()}:{offset + len(utt_id.encode()) + 1}"))
            frames.append((utt_id, str(len(feats))))
    write_table(num_frames, frames)
    save_fbank_config(config, config_yaml)
    write_table(scp, entries)
    return scp


def _subset(data: DataDir, utt_ids: list[str]) -> DataDir:
    return DataDir(**{**data.__dict__, "utt_ids": utt_ids})


def merge_fbank_jobs(data_dir, feat_dir, nj: int) -> int:
    """Gather the per-job scps into DATA/feats.scp and DATA/utt2num_frames, and the jobs' common fbank config
    into DATA/fbank.yaml (how feats.scp was computed); returns the utterance count."""
    entries, frames, config, first_yaml = {}, {}, None, None
    for job in range(1, nj + 1):
        _, num_frames, config_yaml, scp = part_paths(data_dir, feat_dir, job)
        if not (scp.exists() and config_yaml.exists()):
            raise DataDirError(f"{scp}: missing; fbank job {job} of {nj} did not finish")
        entries.update(read_dict(scp))
        frames.update(read_dict(num_frames))
        job_config = load_fbank_config(config_yaml)
        if config is None:
            config, first_yaml = job_config, config_yaml
        elif job_config != config:
            raise DataDirError(f"{config_yaml} and {first_yaml}: the fbank jobs used different configs; re-run them "
                             f"with one")
    data_config = Path(data_dir) / DATA_FBANK_CONFIG
    data_config.unlink(missing_ok=True)
    write_table(Path(data_dir) / "feats.scp", entries)
    write_table(Path(data_dir) / "utt2num_frames", frames)
    save_fbank_config(config, data_config)
    return len(entries)


def save_fbank_config(config: FbankConfig, path):
    with atomic_write(path) as f:
        yaml.safe_dump(config.__dict__, f, sort_keys=False)


def _saved_config(path: Path) -> FbankConfig | None:
    return load_fbank_config(path) if path.exists() else None


def check_features_fit(data_dir, model_fbank_yaml):
    """Refuse DATA/feats.scp computed with another fbank config than the model's (e.g. EXP/fbank.yaml): the feature
    dimension may well agree while the features do not (Kaldi fbank vs an imported model's espnet2 frontend)."""
    data_config, model_config = Path(data_dir) / DATA_FBANK_CONFIG, Path(model_fbank_yaml)
    if data_config.exists() and model_config.exists() \
            and load_fbank_config(data_config) != load_fbank_config(model_config):
        raise DataDirError(f"{data_config}: the features differ from the model's ({model_config}); recompute them "
                           f"with `asrkit fbank --config {model_config}`")


def compute_cmvn_stats(data_dir, out_file) -> Path:
    """Global mean/variance stats over DATA/feats.scp in ESPnet's feats_stats.npz layout (count, sum, sum_square)."""
    feats_scp = Path(data_dir) / "feats.scp"
    count, total, total_sq = 0, 0.0, 0.0
    feats = kaldiio.load_scp(str(feats_scp))
    for mat in progress_bar(feats.values(), total=len(feats), description="cmvn"):
        mat = np.asarray(mat, dtype=np.float64)
        count += mat.shape[0]
        total = total + mat.sum(axis=0)
        total_sq = total_sq + (mat**2).sum(axis=0)
    with atomic_path(out_file) as tmp, open(tmp, "wb") as f:
        np.savez(f, count=np.array(count), sum=total, sum_square=total_sq)
    return Path(out_file)
