"""Log-mel filterbank features: Kaldi-compatible fbank (or an imported model's espnet2 frontend) written to
ark/scp, and global CMVN stats.

Feature extraction is split Kaldi-style: job J of N handles the J-th contiguous share of the sorted
utterance ids and writes `FEATDIR/raw_<kind>_<data>.J.{ark,num_frames,yaml,sources,scp}` (yaml: the config;
sources: a digest of the recordings, segments and videos read). The scp is written last (atomically), so its presence
marks a finished job, and a re-run with the same config and sources skips it.
The job machinery serves every kind of per-frame features a data dir holds (FeatureKind: fbank here, the mouth-ROI
frames of asrkit/avsr/roi.py): each kind names its tables and its config file.
"""

import functools
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import kaldiio
import numpy as np
import torch
import torchaudio
import yaml

from asrkit.config import load_config, save_config
from asrkit.data.audio import is_pipe, iter_utterance_audio
from asrkit.data.datadir import (
    DATA_FBANK_CONFIG,
    DataDir,
    DataDirError,
    load_data_dir,
    read_dict,
    read_optional,
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


class FeatureKind(NamedTuple):
    """One kind of per-frame features of a data dir: where they live and the config they were made with."""

    name: str  # the jobs' files FEATDIR/raw_<name>_<data>.J.*, and the progress bar's label
    scp: str  # DATA's table of the merged features, e.g. feats.scp
    num_frames: str  # DATA's table of their frame counts, e.g. utt2num_frames
    config: str  # DATA's (and a model's exp dir's) copy of the config they were made with, e.g. fbank.yaml
    load_config: Callable  # that config file's path -> its dataclass
    stage: str  # the command that computes them, for error messages


FBANK = FeatureKind("fbank", "feats.scp", "utt2num_frames", DATA_FBANK_CONFIG, load_fbank_config, "asrkit fbank")


def reads_feature_table(data_dir: Path, kind: FeatureKind) -> bool:
    """Whether DATA's features of this kind come from its table (kind.scp): fbank once the fbank stage ran (else it
    is computed from wav.scp), every other kind always (it has no way to be computed on the fly)."""
    return kind != FBANK or (Path(data_dir) / kind.scp).exists()


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


def part_paths(data_dir: Path, feat_dir: Path, job: int, kind: FeatureKind = FBANK
               ) -> tuple[Path, Path, Path, Path, Path]:
    """A job's ark, frame counts, config, sources digest and scp; the scp is written last and marks the job done."""
    stem = f"raw_{kind.name}_{Path(data_dir).name}.{job}"
    return tuple(Path(feat_dir) / f"{stem}.{ext}" for ext in ("ark", "num_frames", "yaml", "sources", "scp"))


# A kind's extractor: (data dir, utterance ids) -> (utterance id, (frames, dims) array) for each, in order.
Extractor = Callable[[DataDir, list[str]], Iterator[tuple[str, np.ndarray]]]


def compute_feature_job(kind: FeatureKind, data_dir, feat_dir, config, extract: Extractor, nj: int = 1,
                        job: int = 1) -> Path:
    """Job `job` of `nj` of one kind of features, made by `extract` with `config` (a dataclass); returns its scp.
    Skips the work when a complete scp made with the same config from the same sources (sources_digest) is there."""
    data = load_data_dir(data_dir)
    utt_ids = job_share(data.utt_ids, nj, job)
    ark, num_frames, config_yaml, sources, scp = part_paths(data_dir, feat_dir, job, kind)
    digest = sources_digest(data, utt_ids)
    if (scp.exists() and set(read_dict(scp)) == set(utt_ids) and _saved_config(kind, config_yaml) == config
            and sources.is_file() and sources.read_text() == digest):
        return scp
    Path(feat_dir).mkdir(parents=True, exist_ok=True)
    # The scps that point into the ark about to be replaced would read the new one at the old offsets: gone first, so
    # the job reads as unfinished (and the data dir as without features) until it is done and merged again.
    for stale in (scp, Path(data_dir) / kind.scp):
        stale.unlink(missing_ok=True)
    entries, frames = [], []
    with atomic_path(ark) as tmp_ark, open(tmp_ark, "wb") as f:
        arrays = extract(data, utt_ids)
        for utt_id, feats in progress_bar(arrays, total=len(utt_ids), description=f"{kind.name} {job}/{nj}"):
            offset = f.tell()
            kaldiio.save_ark(f, {utt_id: feats})
            entries.append((utt_id, f"{ark.resolve()}:{offset + len(utt_id.encode()) + 1}"))
            frames.append((utt_id, str(len(feats))))
    write_table(num_frames, frames)
    save_config(config, config_yaml)
    with atomic_write(sources) as f:
        f.write(digest)
    write_table(scp, entries)
    return scp


def sources_digest(data: DataDir, utt_ids: list[str]) -> str:
    """sha256 of what the utterances' features are made from: each one's recording (its wav.scp value, and a file's
    size and modification time), segment and video. A job whose utterances keep their ids but not their audio (a data
    dir prepared again with trimming, perturbed audio rewritten in place) is then computed again; so is, once, a job
    finished before jobs recorded their sources."""
    videos = read_optional(Path(data.path) / "video.scp") or {}
    lines = []
    for utt in utt_ids:
        recording, start, end = data.segments[utt] if data.segments is not None else (utt, None, None)
        value = data.wav_scp.get(recording, "")
        lines.append(f"{utt} {value} {_file_stamp(value)} {start} {end} {videos.get(utt)}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _file_stamp(wav_scp_value: str) -> str:
    """Size and modification time of a wav.scp file path; empty for a pipe or a missing file (reading it fails
    later, naming it)."""
    path = Path(wav_scp_value.strip())
    if is_pipe(wav_scp_value) or not path.is_file():
        return ""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def compute_fbank_job(data_dir, feat_dir, config: FbankConfig, nj: int = 1, job: int = 1) -> Path:
    """Fbank job `job` of `nj` (compute_feature_job); returns its scp."""
    def extract(data: DataDir, utt_ids: list[str]):
        for utt_id, samples in iter_utterance_audio(_subset(data, utt_ids), config.fs):
            yield utt_id, fbank(samples, config)
    return compute_feature_job(FBANK, data_dir, feat_dir, config, extract, nj, job)


def _subset(data: DataDir, utt_ids: list[str]) -> DataDir:
    return DataDir(**{**data.__dict__, "utt_ids": utt_ids})


def merge_feature_jobs(data_dir, feat_dir, nj: int, kind: FeatureKind = FBANK) -> int:
    """Gather the per-job scps into DATA/<kind.scp> and DATA/<kind.num_frames> (feats.scp, utt2num_frames), and the
    jobs' common config into DATA/<kind.config> (how the features were computed); returns the utterance count."""
    entries, frames, config, first_yaml = {}, {}, None, None
    for job in range(1, nj + 1):
        _, num_frames, config_yaml, _, scp = part_paths(data_dir, feat_dir, job, kind)
        if not (scp.exists() and config_yaml.exists()):
            raise DataDirError(f"{scp}: missing; {kind.name} job {job} of {nj} did not finish")
        entries.update(read_dict(scp))
        frames.update(read_dict(num_frames))
        job_config = kind.load_config(config_yaml)
        if config is None:
            config, first_yaml = job_config, config_yaml
        elif job_config != config:
            raise DataDirError(f"{config_yaml} and {first_yaml}: the {kind.name} jobs used different configs; re-run "
                               f"them with one")
    data_config = Path(data_dir) / kind.config
    data_config.unlink(missing_ok=True)
    write_table(Path(data_dir) / kind.scp, entries)
    write_table(Path(data_dir) / kind.num_frames, frames)
    save_config(config, data_config)
    return len(entries)


def _saved_config(kind: FeatureKind, path: Path):
    return kind.load_config(path) if path.exists() else None


def check_features_fit(data_dir, model_config_yaml, kind: FeatureKind = FBANK):
    """Refuse DATA's features computed with another config than the model's (e.g. EXP/fbank.yaml): the feature
    dimension may well agree while the features do not (Kaldi fbank vs an imported model's espnet2 frontend)."""
    data_config, model_config = Path(data_dir) / kind.config, Path(model_config_yaml)
    if data_config.exists() and model_config.exists() \
            and kind.load_config(data_config) != kind.load_config(model_config):
        raise DataDirError(f"{data_config}: the features differ from the model's ({model_config}); recompute them "
                           f"with `{kind.stage} --config {model_config}`")


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
