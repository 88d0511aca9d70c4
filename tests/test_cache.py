import pytest
import torch
import yaml
from conftest import TINY_ASR, shared_corpus
from typer.testing import CliRunner

from asrkit.asr.batching import FeatureSet
from asrkit.cli import app
from asrkit.data.datadir import DataDirError, load_data_dir, read_dict, write_data_dir
from asrkit.config import save_config
from asrkit.data.features import (
    FbankConfig,
    compute_fbank_job,
    merge_feature_jobs,
)
from asrkit.data.tokens import build_token_list
from asrkit.expdir import build_asr, load_asr
from asrkit.train.cache import (
    cache_encoder,
    encoder_key,
    load_cache,
    merge_cache_jobs,
    part_paths,
)


@pytest.fixture
def yesno_data(tmp_path):
    """4 yesno recordings (8 kHz, resampled by fbank) as a data dir with its fbank features."""
    waves = sorted(shared_corpus("yesno").glob("*.wav"))[:4]
    text = {w.stem: " ".join("YES" if bit == "1" else "NO" for bit in w.stem.split("_")) for w in waves}
    data = tmp_path / "data"
    write_data_dir(data, {w.stem: str(w) for w in waves}, text, {w.stem: "s" for w in waves})
    compute_fbank_job(data, tmp_path / "fbank", FbankConfig())
    merge_feature_jobs(data, tmp_path / "fbank", 1)
    return data


def _tiny_exp(exp, text, seed=0):
    """An ASR exp dir with an untrained tiny model (its weights drawn from `seed`): what cache-encoder reads."""
    build_token_list(text, exp, "word")
    (exp / "config.yaml").write_text(yaml.safe_dump({**TINY_ASR, "kind": "asr"}))
    save_config(FbankConfig(), exp / "fbank.yaml")
    torch.manual_seed(seed)
    model, _ = build_asr(exp)
    torch.save(model.state_dict(), exp / "valid.acc.ave.pth")
    return exp


def test_cached_outputs_are_exactly_what_the_encoder_gives_each_utterance(tmp_path, yesno_data):
    exp = _tiny_exp(tmp_path / "exp", yesno_data / "text")
    for job in (1, 2):
        cache_encoder(exp, yesno_data, tmp_path / "cache", nj=2, job=job)
    assert cache_encoder(exp, yesno_data, tmp_path / "cache", nj=2) == 0  # the merge: both jobs were done

    cache = load_cache(tmp_path / "cache", encoder_key(exp, exp / "valid.acc.ave.pth"))
    model, _ = load_asr(exp)
    utts = sorted(cache.num_frames)
    assert len(utts) == 4
    feats = FeatureSet.from_data_dir(yesno_data)
    with torch.no_grad():
        for utt in utts:
            x = torch.from_numpy(feats.load(utt)).unsqueeze(0)
            expected, lens = model.encode(x, torch.tensor([x.shape[1]]))
            assert torch.equal(torch.from_numpy(cache.load(utt)), expected[0, : lens[0]])
            assert cache.num_frames[utt] == int(lens[0])
    out, out_lens = cache.batch(utts)
    assert out.shape == (4, max(out_lens), 32) and out_lens.tolist() == [cache.num_frames[u] for u in utts]


def test_cache_is_skipped_for_the_same_model_and_recomputed_for_a_changed_model_file(tmp_path, yesno_data):
    exp = _tiny_exp(tmp_path / "exp", yesno_data / "text")
    ark = part_paths(tmp_path / "cache", 1)[0]
    assert cache_encoder(exp, yesno_data, tmp_path / "cache") == 1
    before, first = ark.stat().st_mtime_ns, load_cache(tmp_path / "cache").load("0_0_0_0_1_1_1_1")
    assert cache_encoder(exp, yesno_data, tmp_path / "cache") == 0
    assert ark.stat().st_mtime_ns == before

    other = _tiny_exp(tmp_path / "other", yesno_data / "text", seed=1)
    (exp / "valid.acc.ave.pth").write_bytes((other / "valid.acc.ave.pth").read_bytes())
    with pytest.raises(DataDirError, match=r"output\.1\.key: made by another model"):
        merge_cache_jobs(tmp_path / "cache", 1, encoder_key(exp, exp / "valid.acc.ave.pth"))
    assert cache_encoder(exp, yesno_data, tmp_path / "cache") == 1
    assert not torch.equal(torch.from_numpy(load_cache(tmp_path / "cache").load("0_0_0_0_1_1_1_1")),
                           torch.from_numpy(first))


def test_cache_is_recomputed_when_the_data_dir_is_prepared_again_from_other_audio(tmp_path, yesno_data):
    exp = _tiny_exp(tmp_path / "exp", yesno_data / "text")
    assert cache_encoder(exp, yesno_data, tmp_path / "cache") == 1
    data = load_data_dir(yesno_data)
    segments = {utt: (utt, 1.0, 4.0) for utt in data.utt_ids}  # same ids, same model: 3 s of each recording
    write_data_dir(yesno_data, data.wav_scp, read_dict(yesno_data / "text"), data.utt2spk, segments=segments)
    assert cache_encoder(exp, yesno_data, tmp_path / "cache") == 1
    assert set(load_cache(tmp_path / "cache").num_frames.values()) == {73}  # 298 fbank frames, 4x subsampled


def test_cache_encoder_command_computes_from_audio_and_refuses_a_stale_cache(tmp_path, yesno_data):
    exp = _tiny_exp(tmp_path / "exp", yesno_data / "text")
    for name in ("feats.scp", "utt2num_frames", "fbank.yaml"):
        (yesno_data / name).unlink()  # the fbank stage did not run: fbank from wav.scp with EXP/fbank.yaml
    result = CliRunner().invoke(app, ["cache-encoder", str(exp), str(yesno_data), str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    assert "1 job(s) computed" in result.output
    assert len(load_cache(tmp_path / "cache").num_frames) == 4
    with pytest.raises(DataDirError, match="made by another model"):
        load_cache(tmp_path / "cache", "0" * 64)
