"""Decoding a trained model (the yesno recipe's): batching, n-best, special tokens, error messages."""

import shutil
import subprocess
import sys

import pytest
import soundfile
import torch
from espnet.nets.batch_beam_search import BatchBeamSearch
from espnet.nets.scorers.ctc import CTCPrefixScorer
from typer.testing import CliRunner

from asrkit.asr import decode_dir
from asrkit.asr.batching import FeatureSet
from asrkit.asr.decode_dir import write_decode_dir
from asrkit.asr.batch_encoding import encode_batch
from asrkit.asr.decoding import DecodeConfig, beam_search, load_decode_config
from asrkit.asr.recognize import Recognizer
from asrkit.cli import app
from asrkit.data.datadir import read_dict
from asrkit.data.features import FbankConfig
from asrkit.errors import ConfigError
from asrkit.expdir import load_asr


@pytest.fixture(scope="module")
def trained(yesno_recipe):
    exp = yesno_recipe / "exp" / "asr_train"
    model, tokenizer = load_asr(exp)
    return model, tokenizer, FeatureSet.from_data_dir(yesno_recipe / "data" / "test_yesno")


def decode_features(model, tokenizer, data, utts, config, out_dir):
    """A model on a feature set, written as a decode dir."""
    recognizer = Recognizer(model, tokenizer, FbankConfig(), config)
    write_decode_dir(recognizer.recognize_set(data, utts), out_dir, config.nbest)


def _texts(out_dir):
    return (out_dir / "text").read_text().splitlines()


def test_batched_decoding_gives_the_unbatched_1best(trained, tmp_path):
    model, tokenizer, data = trained
    utts = sorted(data.num_frames)
    decode_features(model, tokenizer, data, utts, DecodeConfig(beam_size=4, batch_size=1), tmp_path / "one")
    decode_features(model, tokenizer, data, utts, DecodeConfig(beam_size=4, batch_size=16), tmp_path / "many")
    assert len(_texts(tmp_path / "one")) == len(utts)
    assert _texts(tmp_path / "many") == _texts(tmp_path / "one")


def test_ctc_alone_finds_espnets_1best_and_score(grid_aligned):
    """ctc_weight 1 on a char model (30 tokens, more than the pre-beam of 6): espnet's BatchBeamSearch with CTC as its
    only scorer (no pre-beam, as Speech2Text sets it) finds the same 1-best with the same score. A pre-beam on
    attention scores of weight 0 once kept arbitrary tokens and gave gibberish."""
    model, tokenizer = load_asr(grid_aligned["asr"])
    data = FeatureSet.from_data_dir(grid_aligned["data"])
    enc, enc_lens = encode_batch(model, [torch.from_numpy(data.load(sorted(data.num_frames)[0]))])
    ours = beam_search(model, enc, enc_lens, DecodeConfig(beam_size=4, ctc_weight=1.0))[0][0]
    espnet = BatchBeamSearch(scorers={"ctc": CTCPrefixScorer(ctc=model.ctc, eos=model.eos)}, weights={"ctc": 1.0},
                             beam_size=4, vocab_size=tokenizer.vocab_size, sos=model.sos, eos=model.eos,
                             pre_beam_score_key=None)
    best = espnet(enc[0], maxlenratio=0.0, minlenratio=0.0)[0]
    assert ours.tokens == best.yseq[1:-1].tolist()
    assert ours.score == pytest.approx(float(best.score), abs=1e-4)


def test_a_beam_wider_than_the_vocabulary_finds_what_a_narrow_one_finds(trained):
    """yesno has 5 tokens: a beam of 10 once let CTC's blank (scored -1e10, not -inf) into the beam, and the CTC prefix
    score of a prefix holding it is 0, so every utterance came out as a blank."""
    model, tokenizer, data = trained
    enc, enc_lens = encode_batch(model, [torch.from_numpy(data.load(utt)) for utt in sorted(data.num_frames)[:3]])
    for ctc_weight in (0.3, 1.0):
        narrow = beam_search(model, enc, enc_lens, DecodeConfig(beam_size=3, ctc_weight=ctc_weight))
        wide = beam_search(model, enc, enc_lens, DecodeConfig(beam_size=10, ctc_weight=ctc_weight))
        assert [n[0].tokens for n in wide] == [n[0].tokens for n in narrow]
        assert all(n[0].tokens and 0 not in n[0].tokens for n in wide)


def test_a_ctc_weight_outside_0_to_1_is_refused_naming_the_file(tmp_path):
    config = tmp_path / "decode.yaml"
    config.write_text("ctc_weight: 1.5\n")
    with pytest.raises(ConfigError, match=r"decode\.yaml: ctc_weight 1\.5 is not between 0 and 1"):
        load_decode_config(config)


def test_decode_with_nj_but_no_job_is_refused_instead_of_decoding_everything_in_one_process(tmp_path):
    (tmp_path / "exp").mkdir(), (tmp_path / "data").mkdir()
    result = CliRunner().invoke(app, ["decode", "--nj", "4", str(tmp_path / "exp"), str(tmp_path / "data"),
                                      str(tmp_path / "out")])
    assert result.exit_code != 0 and "--nj 4 without --job" in result.output
    assert not (tmp_path / "out").exists()


def test_an_adapt_config_with_a_bad_decode_section_is_refused_before_training(tmp_path):
    from asrkit.adapt.finetune import AdaptConfig
    config = tmp_path / "adapt.yaml"
    config.write_text("steps: 10\ndecode:\n  ctc_weight: -0.1\n")
    with pytest.raises(ConfigError, match=r"adapt\.yaml: decode: ctc_weight -0\.1 is not between 0 and 1"):
        AdaptConfig.load(config)
    with pytest.raises(ConfigError, match="decred_logits 'avg' is not one of"):
        DecodeConfig(decred_logits="avg")


def test_nbest_lists_are_ordered_and_written(trained, tmp_path):
    model, tokenizer, data = trained
    utts = sorted(data.num_frames)[:4]
    decode_features(model, tokenizer, data, utts, DecodeConfig(beam_size=4, nbest=3), tmp_path)
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


def test_decoding_a_data_dir_gives_nbest_confidences_and_token_times_within_the_audio(yesno_recipe):
    exp, data = yesno_recipe / "exp" / "asr_train", yesno_recipe / "data" / "test_yesno"
    results = decode_dir.decode_data_dir(exp, data, DecodeConfig(beam_size=4, nbest=3), nj=10, job=1)
    assert len(results) == 2  # the first tenth of 29 utterances
    wav_scp = read_dict(data / "wav.scp")
    for utt, r in results.items():
        scores = [h.score for h in r.nbest]
        assert len(r.nbest) == 3 and scores == sorted(scores, reverse=True)
        assert r.text == " ".join(r.nbest[0].tokens) and r.nbest[0].tokens  # word tokens; 8 words said
        assert 0.5 < r.confidence <= 1.0
        assert [t.token for t in r.token_times] == r.nbest[0].tokens
        duration = soundfile.info(wav_scp[utt]).duration
        ends = [0.0] + [t.end for t in r.token_times]
        assert all(prev <= t.start < t.end for prev, t in zip(ends, r.token_times)), r.token_times
        assert ends[-1] <= duration and all(0 <= t.confidence <= 1 for t in r.token_times)


def test_merge_decode_gathers_every_table_of_the_jobs_and_names_a_missing_job(yesno_recipe, tmp_path):
    exp, data = yesno_recipe / "exp" / "asr_train", yesno_recipe / "data" / "test_yesno"
    config = DecodeConfig(beam_size=4, nbest=2)
    utts = sorted(read_dict(data / "text"))[:4]
    short = tmp_path / "data"
    short.mkdir()
    for name in ("feats.scp", "utt2num_frames", "fbank.yaml"):
        lines = (data / name).read_text().splitlines()
        (short / name).write_text("\n".join(lines if name == "fbank.yaml" else lines[:4]) + "\n")
    write_decode_dir(decode_dir.decode_data_dir(exp, short, config), tmp_path / "whole", config.nbest)
    for job in (1, 2):
        write_decode_dir(decode_dir.decode_data_dir(exp, short, config, nj=2, job=job),
                         tmp_path / "jobs" / "logdir" / f"output.{job}", config.nbest)
    result = CliRunner().invoke(app, ["merge-decode", "--nj", "2", str(tmp_path / "jobs")])
    assert result.exit_code == 0, result.output
    for name in ("text", "token", "score", "confidence", "ctm", "2best_recog/text", "2best_recog/score"):
        assert (tmp_path / "jobs" / name).read_text() == (tmp_path / "whole" / name).read_text(), name
    assert sorted(line.split()[0] for line in (tmp_path / "jobs" / "text").read_text().splitlines()) == utts
    token_count = sum(len(line.split()) - 1 for line in (tmp_path / "jobs" / "token").read_text().splitlines())
    assert len((tmp_path / "jobs" / "ctm").read_text().splitlines()) == token_count > 0
    (tmp_path / "jobs" / "logdir" / "output.2" / "text").unlink()
    result = CliRunner().invoke(app, ["merge-decode", "--nj", "2", str(tmp_path / "jobs")])
    assert result.exit_code == 1 and "decode job 2 of 2 did not finish" in result.output


def test_an_utterance_too_short_for_the_encoder_is_decoded_as_nothing_and_the_others_as_usual(trained, tmp_path):
    model, tokenizer, data = trained
    utts = sorted(data.num_frames)[:3]
    clipped = {**{u: data.load(u) for u in utts}, "short": data.load(utts[0])[:10]}  # conv2d8 needs 15 frames
    short_set = FeatureSet(clipped, {u: len(f) for u, f in clipped.items()})
    decode_features(model, tokenizer, short_set, [*utts, "short"], DecodeConfig(beam_size=4), tmp_path / "with")
    decode_features(model, tokenizer, data, utts, DecodeConfig(beam_size=4), tmp_path / "without")
    assert _texts(tmp_path / "with") == sorted(_texts(tmp_path / "without") + ["short"])
