"""Caches of frozen modules' outputs: run a frozen module (a trained encoder) over a data dir once, store its outputs
as Kaldi ark/scp, and read them back as a batch source for training (the text-to-latent VAE trains against an
ASR encoder's outputs without running the encoder every epoch).

A frozen module is any callable (feats (1, T, D), feats_lens (1,)) -> (out (1, T', D'), out_lens (1,)); each
utterance goes through it alone, so a cached output is exactly what the module gives that utterance (padding in a
batch could change the last digits). The work is split like fbank (asrkit/data/features.py): job J of N handles the
J-th contiguous share of the sorted utterance ids and writes, in the cache dir,
    output.J.ark, output.J.num_frames   the outputs and their lengths (frames after the module's subsampling)
    output.J.key                        the key of the module that made them (see below)
    output.J.sources                    what the inputs were made from (asrkit/data/features.py sources_digest)
    output.J.scp                        written last: its presence marks a finished job
A merge gathers them into feats.scp and utt2num_frames (so the cache dir reads like a data dir's features) and
key. The key is the sha256 of what the outputs depend on: for an ASR exp dir's encoder, the model file, config.yaml,
cmvn.npz and fbank.yaml (roi.yaml for a lip-reading model, whose inputs are DATA/roi.scp's mouth-ROI frames). A job
whose scp holds the same utterances under the same key, made from the same recordings and segments, is skipped; a
changed model file or data dir prepared again recomputes it, and a merge refuses jobs made by another model.
"""

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import kaldiio
import numpy as np
import torch

from asrkit.asr.batching import FeatureSet
from asrkit.data.audio import iter_utterance_audio
from asrkit.data.datadir import DataDirError, load_data_dir, read_dict, write_table
from asrkit.data.features import fbank, job_share, reads_feature_table, sources_digest
from asrkit.expdir import fbank_config, feature_kind, load_asr, model_path, read_config
from asrkit.fileio import atomic_path, atomic_write, file_key
from asrkit.progress import progress_bar

FrozenModule = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
# What an ASR encoder's outputs depend on, besides the model file (absent ones are left out of the key).
EXP_FILES_IN_KEY = ("config.yaml", "cmvn.npz", "fbank.yaml", "roi.yaml")


def encoder_key(exp_dir: Path, model_file: Path) -> str:
    """The key of an ASR exp dir's encoder: its model file, config, CMVN stats and fbank config."""
    return file_key([Path(model_file), *(Path(exp_dir) / name for name in EXP_FILES_IN_KEY)])


def part_paths(cache_dir: Path, job: int) -> tuple[Path, Path, Path, Path, Path]:
    """A job's ark, lengths, key, sources and scp; the scp is written last and marks the job done."""
    return tuple(Path(cache_dir) / f"output.{job}.{kind}" for kind in ("ark", "num_frames", "key", "sources", "scp"))


def job_done(cache_dir: Path, job: int, utt_ids: list[str], key: str, sources: str) -> bool:
    """Whether job `job` finished for exactly these utterances, made from `sources` (their digest), with the module
    whose key is `key`."""
    _, _, key_file, sources_file, scp = part_paths(cache_dir, job)
    return (scp.exists() and key_file.exists() and key_file.read_text().strip() == key
            and sources_file.exists() and sources_file.read_text() == sources and set(read_dict(scp)) == set(utt_ids))


@torch.no_grad()
def cache_job(module: FrozenModule, features: Iterator[tuple[str, np.ndarray]], count: int, cache_dir: Path,
              key: str, sources: str, job: int = 1, nj: int = 1, device: str = "cpu") -> Path:
    """Run `module` over `count` (utterance id, features) pairs, one utterance at a time, into job `job`'s files;
    `sources`: the digest of what the features were made from. Returns its scp."""
    ark, num_frames, key_file, sources_file, scp = part_paths(cache_dir, job)
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    # The scps that point into the ark about to be replaced would read the new one at the old offsets: gone first.
    for stale in (scp, Path(cache_dir) / "feats.scp"):
        stale.unlink(missing_ok=True)
    entries, frames = [], []
    with atomic_path(ark) as tmp_ark, open(tmp_ark, "wb") as f:
        for utt, feats in progress_bar(features, total=count, description=f"cache {job}/{nj}"):
            x = torch.from_numpy(np.array(feats, dtype=np.float32)).unsqueeze(0).to(device)
            out, out_lens = module(x, torch.tensor([x.shape[1]], device=device))
            out = out[0, : int(out_lens[0])].float().cpu().numpy()
            offset = f.tell()
            kaldiio.save_ark(f, {utt: out})
            entries.append((utt, f"{ark.resolve()}:{offset + len(utt.encode()) + 1}"))
            frames.append((utt, str(len(out))))
    write_table(num_frames, frames)
    with atomic_write(key_file) as f:
        f.write(key + "\n")
    with atomic_write(sources_file) as f:
        f.write(sources)
    write_table(scp, entries)
    return scp


def merge_cache_jobs(cache_dir: Path, nj: int, key: str) -> int:
    """Gather the jobs' scps into CACHE/feats.scp and CACHE/utt2num_frames and their key into CACHE/key; every job
    must have finished with the module whose key is `key`. Returns the utterance count."""
    entries, frames = {}, {}
    for job in range(1, nj + 1):
        _, num_frames, key_file, _, scp = part_paths(cache_dir, job)
        if not (scp.exists() and key_file.exists()):
            raise DataDirError(f"{scp}: missing; cache job {job} of {nj} did not finish")
        if key_file.read_text().strip() != key:
            raise DataDirError(f"{key_file}: made by another model than the one given (it changed since); re-run "
                               f"job {job}")
        entries.update(read_dict(scp))
        frames.update(read_dict(num_frames))
    merged_key = Path(cache_dir) / "key"
    merged_key.unlink(missing_ok=True)  # no key while feats.scp is being replaced: a reader sees no stale pair
    write_table(Path(cache_dir) / "feats.scp", entries)
    write_table(Path(cache_dir) / "utt2num_frames", frames)
    with atomic_write(merged_key) as f:
        f.write(key + "\n")
    return len(entries)


def load_cache(cache_dir: Path, key: str | None = None) -> FeatureSet:
    """A merged cache as a batch source (num_frames, batch(utts) -> padded outputs and lengths); with `key`, a
    cache made by another module is refused."""
    cache_dir = Path(cache_dir)
    key_file = cache_dir / "key"
    if not key_file.exists():
        raise DataDirError(f"{key_file}: missing; the cache was not merged (run `asrkit cache-encoder` without --job)")
    if key is not None and key_file.read_text().strip() != key:
        raise DataDirError(f"{key_file}: the cache was made by another model; run `asrkit cache-encoder` again")
    num_frames = {utt: int(n) for utt, n in read_dict(cache_dir / "utt2num_frames").items()}
    return FeatureSet(kaldiio.load_scp(str(cache_dir / "feats.scp")), num_frames)


def load_cache_covering(cache_dir: Path, utts, text: Path) -> FeatureSet:
    """load_cache, refused (naming the first missing utterance) unless it has an output for every utterance `utts`
    (those of the Kaldi text file `text`, already read by the caller; named in the error)."""
    cache = load_cache(cache_dir)
    missing = [utt for utt in utts if utt not in cache.num_frames]
    if missing:
        raise DataDirError(f"{cache_dir}: no output for utterance '{missing[0]}' of {text} ({len(missing)} missing)")
    return cache


# ---------------------------------------------------------------- an ASR exp dir's encoder


def cache_encoder(exp_dir: Path, data_dir: Path, cache_dir: Path, model_file: str | None = None, nj: int = 1,
                  job: int | None = None, device: str = "cpu") -> int:
    """Cache EXP's encoder (model.encode, eval mode) over DATA: job `job` of `nj`, or with job None every job not
    done yet and then the merge. Returns how many jobs ran now (0: all were done with this model)."""
    key = encoder_key(exp_dir, model_path(exp_dir, "asr", model_file))
    utt_ids, features = encoder_inputs(Path(exp_dir), Path(data_dir))
    data = load_data_dir(data_dir)
    shares = {j: job_share(utt_ids, nj, j) for j in ([job] if job else range(1, nj + 1))}
    sources = {j: sources_digest(data, share) for j, share in shares.items()}
    todo = [j for j, share in shares.items() if not job_done(cache_dir, j, share, key, sources[j])]
    if todo:
        model, _ = load_asr(exp_dir, model_file)
        model.to(device)
        for j in todo:
            cache_job(model.encode, features(shares[j]), len(shares[j]), cache_dir, key, sources[j], job=j, nj=nj,
                      device=device)
    if job is None:
        merge_cache_jobs(cache_dir, nj, key)
    return len(todo)


def encoder_inputs(exp_dir: Path, data_dir: Path) -> tuple[list[str], Callable[[list[str]], Iterator]]:
    """DATA's sorted utterance ids, and a function yielding (utterance id, fbank) for a share of them: from
    DATA/feats.scp when the fbank stage ran (refused unless made with EXP/fbank.yaml), else computed from
    DATA/wav.scp with EXP/fbank.yaml. A lip-reading model's inputs come from DATA/roi.scp (made with EXP/roi.yaml)."""
    kind = feature_kind(read_config(exp_dir, "asr"))
    if reads_feature_table(data_dir, kind):
        tables, utt_ids = FeatureSet.for_model(data_dir, exp_dir / kind.config, kind=kind)
        return utt_ids, lambda utts: ((utt, tables.feats[utt]) for utt in utts)
    # Computed share by share as the encoder asks, not all at once as FeatureSet.for_model does: a cache may hold
    # more audio than fits in memory as fbank.
    data, config = load_data_dir(data_dir), fbank_config(exp_dir)

    def compute(utts):
        for utt, samples in iter_utterance_audio(dataclasses.replace(data, utt_ids=utts), config.fs):
            yield utt, fbank(samples, config)
    return data.utt_ids, compute
