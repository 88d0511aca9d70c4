"""Decoding a trained model (the yesno recipe's): batching, n-best, special tokens, error messages."""

import shutil
import subprocess
import sys

import pytest
import torch

from asrkit.asr.batching import FeatureSet
from asrkit.asr.decoding import DecodeConfig, beam_search, decode_data_dir
from asrkit.expdir import load_asr


@pytest.fixture(scope="module")
def trained(yesno_recipe):
    exp = yesno_recipe / "exp" / "asr_train"
    model, tokenizer = load_asr(exp)
    return model, tokenizer, FeatureSet.from_data_dir(yesno_recipe / "data" / "test_yesno")


def _texts(out_dir):
    return (out_dir / "text").read_text().splitlines()


def test_batched_decoding_gives_the_unbatched_1best(trained, tmp_path):
    model, tokenizer, data = trained
    utts = sorted(data.num_frames)
    decode_data_dir(model, tokenizer, data, utts, DecodeConfig(beam_size=4, batch_size=1), tmp_path / "one")
    decode_data_dir(model, tokenizer, data, utts, DecodeConfig(beam_size=4, batch_size=16), tmp_path / "many")
    assert len(_texts(tmp_path / "one")) == len(utts)
    assert _texts(tmp_path / "many") == _texts(tmp_path / "one")


def test_nbest_lists_are_ordered_and_written(trained, tmp_path):
    model, tokenizer, data = trained
    utts = sorted(data.num_frames)[:4]
    decode_data_dir(model, tokenizer, data, utts, DecodeConfig(beam_size=4, nbest=3), tmp_path)
    for k in (2, 3):
        assert len(_texts(tmp_path / f"{k}best_recog")) == len(utts)
    best = dict(line.split() for line in (tmp_path / "score").read_text().splitlines())
    second = dict(line.split() for line in (tmp_path / "2best_recog" / "score").read_text().splitlines())
    assert all(float(best[u]) >= float(second[u]) for u in second)


def test_short_inputs_never_emit_special_tokens(trained):
    model, tokenizer, _ = trained
    feats = torch.randn(3, 25, 80)  # 0.25 s: a handful of encoder frames, fewer than "YES NO ..." needs
    enc, enc_lens = model.encode(feats, torch.tensor([25, 20, 17]))
    for hyps in beam_search(model, enc, enc_lens, DecodeConfig(beam_size=4, nbest=4)):
        for hyp in hyps:
            assert len(hyp.tokens) <= enc.size(1)
            assert model.sos not in hyp.tokens and 0 not in hyp.tokens
            text = tokenizer.decode(hyp.tokens)
            assert "<sos/eos>" not in text and "<blank>" not in text


def test_corrupt_features_name_the_utterance(yesno_recipe, tmp_path):
    data = tmp_path / "broken"
    shutil.copytree(yesno_recipe / "data" / "test_yesno", data)
    first = (data / "feats.scp").read_text().splitlines()[0].split()[0]
    lines = (data / "feats.scp").read_text().splitlines()
    lines[0] = f"{first} {tmp_path}/missing.ark:16"
    (data / "feats.scp").write_text("\n".join(lines) + "\n")
    result = _decode_cli(yesno_recipe / "exp" / "asr_train", data, tmp_path / "out")
    assert result.returncode != 0
    assert f"utterance '{first}'" in result.stderr


def _decode_cli(exp, data, out):
    return subprocess.run([sys.executable, "-m", "asrkit.cli", "decode", str(exp), str(data), str(out)],
                          capture_output=True, text=True)


def test_decoding_straight_from_audio_matches_the_feature_path(yesno_recipe, tmp_path):
    data = tmp_path / "raw"
    data.mkdir()
    for name in ("wav.scp", "text", "utt2spk", "spk2utt"):
        lines = (yesno_recipe / "data" / "test_yesno" / name).read_text().splitlines()[:3]
        (data / name).write_text("\n".join(lines) + "\n")
    exp = yesno_recipe / "exp" / "asr_train"
    assert _decode_cli(exp, data, tmp_path / "from_audio").returncode == 0
    shutil.copy(yesno_recipe / "data" / "test_yesno" / "feats.scp", data)
    shutil.copy(yesno_recipe / "data" / "test_yesno" / "utt2num_frames", data)
    for name in ("feats.scp", "utt2num_frames"):
        lines = (data / name).read_text().splitlines()[:3]
        (data / name).write_text("\n".join(lines) + "\n")
    assert _decode_cli(exp, data, tmp_path / "from_feats").returncode == 0
    assert (tmp_path / "from_audio" / "text").read_text() == (tmp_path / "from_feats" / "text").read_text()


def test_missing_audio_names_the_utterance(yesno_recipe, tmp_path):
    data = tmp_path / "raw"
    data.mkdir()
    utt = "0_0_0_0_1_1_1_1"
    (data / "wav.scp").write_text(f"{utt} {tmp_path}/gone.wav\n")
    (data / "utt2spk").write_text(f"{utt} global\n")
    result = _decode_cli(yesno_recipe / "exp" / "asr_train", data, tmp_path / "out")
    assert result.returncode != 0
    assert f"utterance '{utt}'" in result.stderr and "gone.wav" in result.stderr
