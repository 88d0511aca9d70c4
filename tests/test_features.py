import kaldiio
import numpy as np
import pytest
from conftest import shared_corpus

from asrkit.data.audio import read_audio
from asrkit.data.datadir import DataDirError, write_data_dir
from asrkit.config import save_config
from asrkit.data.features import (
    FbankConfig,
    check_features_fit,
    compute_cmvn_stats,
    compute_fbank_job,
    fbank,
    job_share,
    load_fbank_config,
    merge_feature_jobs,
)
from asrkit.errors import AsrkitError


def _yesno_dir(tmp_path, count=5):
    waves = sorted(shared_corpus("yesno").glob("*.wav"))[:count]
    data = tmp_path / "data"
    write_data_dir(data, {w.stem: str(w) for w in waves}, {w.stem: "YES" for w in waves}, {w.stem: "s" for w in waves})
    return data, waves


def test_job_shares_cover_every_utterance_once():
    utts = [f"u{i}" for i in range(11)]
    shares = [job_share(utts, 3, job) for job in (1, 2, 3)]
    assert sum(shares, []) == utts
    assert [len(s) for s in shares] == [3, 4, 4]


def test_fbank_ark_scp_round_trip(tmp_path):
    data, waves = _yesno_dir(tmp_path)
    config = FbankConfig()
    for job in (1, 2):
        compute_fbank_job(data, tmp_path / "fbank", config, nj=2, job=job)
    assert merge_feature_jobs(data, tmp_path / "fbank", nj=2) == len(waves)

    stored = dict(kaldiio.load_scp(str(data / "feats.scp")))
    assert sorted(stored) == sorted(w.stem for w in waves)
    for wave in waves:
        samples, _ = read_audio(str(wave), fs=16000)
        expected = fbank(samples, config)
        assert expected.shape[1] == 80
        np.testing.assert_array_equal(stored[wave.stem], expected)
    frames = dict(line.split() for line in (data / "utt2num_frames").read_text().splitlines())
    assert all(int(frames[u]) == stored[u].shape[0] for u in stored)


def test_finished_job_is_skipped_on_rerun(tmp_path):
    data, _ = _yesno_dir(tmp_path, count=2)
    scp = compute_fbank_job(data, tmp_path / "fbank", FbankConfig())
    ark = scp.with_suffix(".ark")
    before = (scp.stat().st_mtime_ns, ark.stat().st_mtime_ns)
    compute_fbank_job(data, tmp_path / "fbank", FbankConfig())
    assert (scp.stat().st_mtime_ns, ark.stat().st_mtime_ns) == before


def test_data_dir_records_its_fbank_config_and_refuses_another_models(tmp_path):
    data, _ = _yesno_dir(tmp_path, count=2)
    kaldi, espnet = FbankConfig(n_mels=40), FbankConfig(n_mels=40, espnet_frontend={"n_fft": 512, "n_mels": 40})
    compute_fbank_job(data, tmp_path / "fbank", kaldi)
    merge_feature_jobs(data, tmp_path / "fbank", nj=1)
    assert load_fbank_config(data / "fbank.yaml") == kaldi
    save_config(espnet, tmp_path / "model_fbank.yaml")
    with pytest.raises(DataDirError, match=r"data/fbank\.yaml: the features differ from the model's"):
        check_features_fit(data, tmp_path / "model_fbank.yaml")

    # Re-running with the model's config recomputes the finished job instead of skipping it.
    scp = compute_fbank_job(data, tmp_path / "fbank", espnet)
    merge_feature_jobs(data, tmp_path / "fbank", nj=1)
    check_features_fit(data, tmp_path / "model_fbank.yaml")
    assert load_fbank_config(data / "fbank.yaml") == espnet
    first = next(iter(kaldiio.load_scp(str(scp)).values()))
    assert first.shape[1] == 40


def test_jobs_with_different_configs_do_not_merge(tmp_path):
    data, _ = _yesno_dir(tmp_path, count=4)
    compute_fbank_job(data, tmp_path / "fbank", FbankConfig(), nj=2, job=1)
    compute_fbank_job(data, tmp_path / "fbank", FbankConfig(n_mels=40), nj=2, job=2)
    with pytest.raises(AsrkitError, match=r"\.2\.yaml and .*\.1\.yaml: the fbank jobs used different configs"):
        merge_feature_jobs(data, tmp_path / "fbank", nj=2)
    assert not (data / "feats.scp").exists()


def test_cmvn_stats_match_the_features(tmp_path):
    data, _ = _yesno_dir(tmp_path, count=3)
    compute_fbank_job(data, tmp_path / "fbank", FbankConfig())
    merge_feature_jobs(data, tmp_path / "fbank", nj=1)
    stats = np.load(compute_cmvn_stats(data, tmp_path / "cmvn.npz"))
    mats = np.concatenate([m for _, m in kaldiio.load_scp(str(data / "feats.scp")).items()])
    assert int(stats["count"]) == len(mats)
    np.testing.assert_allclose(stats["sum"] / stats["count"], mats.mean(0), rtol=1e-5)
