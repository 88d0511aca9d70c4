"""Models cross between asrkit and espnet2: both toolkits decode them to the same 1-best.

Export: the yesno recipe's trained model (with its DeCRED head) decoded by espnet2's own Speech2Text.
Import: a Conformer model built by espnet2's own ASRTask from a config, decoded by asrkit and by Speech2Text,
then fine-tuned by asrkit; the same for a model that reads waveforms through espnet2's frontend, exported back.
"""

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import yaml

from asrkit.asr.batching import FeatureSet
from asrkit.asr.decode_dir import decode_data_dir
from asrkit.asr.decoding import DecodeConfig, load_decode_config
from asrkit.asr.recognize import Recognizer
from asrkit.asr.train import Inputs, train
from asrkit.data.audio import read_audio
from asrkit.data.datadir import load_data_dir, read_dict, write_data_dir
from asrkit.data.features import espnet_log_mel, load_fbank_config
from asrkit.interop.espnet import InteropError, export_espnet, import_espnet

SPECIALS = ("<sos/eos>", "<blank>")


def speech2text(config_yaml, model_file, decode: DecodeConfig):
    from espnet2.bin.asr_inference import Speech2Text

    return Speech2Text(str(config_yaml), str(model_file), beam_size=decode.beam_size, ctc_weight=decode.ctc_weight,
                       penalty=decode.length_bonus, maxlenratio=decode.maxlenratio, nbest=1, lm_weight=0.0)


def espnet_1best(decoder, inputs: dict[str, np.ndarray]) -> dict[str, str]:
    """Speech2Text's text per utterance (inputs: features, or waveforms for a model with a frontend); the stray
    <sos/eos> of ESPnet issue #4174 is not a word."""
    texts = {}
    for utt, speech in inputs.items():
        text = decoder(torch.from_numpy(speech))[0][0]
        texts[utt] = " ".join(w for w in text.split() if w not in SPECIALS)
    return texts


@pytest.fixture(scope="module")
def yesno_test(yesno_recipe):
    return FeatureSet.from_data_dir(yesno_recipe / "data" / "test_yesno")


def test_exported_model_decodes_the_same_in_speech2text(yesno_recipe, yesno_test, tmp_path):
    exp = yesno_recipe / "exp" / "asr_train"
    out = tmp_path / "espnet_model"
    result = subprocess.run([sys.executable, "-m", "asrkit.cli", "export", "--format", "espnet", str(exp), str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    exported = yaml.safe_load((out / "config.yaml").read_text())
    assert exported["encoder"] == "e_branchformer" and exported["frontend"] is None
    assert not any(key.startswith("aux_heads.") for key in torch.load(out / "valid.acc.ave.pth"))

    decode = load_decode_config(yesno_recipe / "conf" / "decode.yaml")
    recipe_1best = read_dict(exp / "decode_decode_valid.acc.ave" / "test_yesno" / "text", allow_empty_value=True)
    ours = {utt: recipe_1best[utt] for utt in sorted(recipe_1best)[:8]}  # Speech2Text takes ~1 s an utterance
    theirs = espnet_1best(speech2text(out / "config.yaml", out / "valid.acc.ave.pth", decode),
                          {utt: yesno_test.load(utt) for utt in ours})
    assert len(ours) == 8 and any(ours.values())
    assert theirs == ours


ESPNET_CONFIG = {
    "input_size": 80,
    "frontend": None,
    "specaug": "specaug",
    "specaug_conf": {"apply_time_warp": False, "num_freq_mask": 1, "time_mask_width_ratio_range": [0.0, 0.05]},
    "normalize": "global_mvn",
    "model": "espnet",
    "model_conf": {"ctc_weight": 0.3, "lsm_weight": 0.1, "length_normalized_loss": False},
    "preencoder": None,
    "encoder": "conformer",
    "encoder_conf": {"output_size": 32, "attention_heads": 2, "linear_units": 64, "num_blocks": 2,
                     "input_layer": "conv2d", "cnn_module_kernel": 7, "macaron_style": True,
                     "rel_pos_type": "latest", "pos_enc_layer_type": "rel_pos", "selfattention_layer_type": "rel_selfattn",
                     "use_cnn_module": True},
    "postencoder": None,
    "decoder": "transformer",
    "decoder_conf": {"attention_heads": 2, "linear_units": 64, "num_blocks": 2},
    "ctc_conf": {},
    "init": None,
    "token_type": "word",
    "bpemodel": None,
}


def build_espnet_model(config: dict, out: Path) -> Path:
    """The model as espnet2's ASRTask builds it from `config`, saved in `out` the way its trainer saves it."""
    from espnet2.tasks.asr import ASRTask

    torch.manual_seed(0)
    model = ASRTask.build_model(argparse.Namespace(**config))
    speak_to_the_end(model)
    torch.save(model.state_dict(), out / "valid.acc.ave.pth")
    (out / "config.yaml").write_text(yaml.safe_dump(config))
    return out


def speak_to_the_end(model):
    """An untrained model's search ends at once, and empty 1-bests agree whatever the features; with <sos/eos>
    and CTC's <blank> pushed down its hypotheses run long and are scored against the encoder output."""
    with torch.no_grad():
        model.decoder.output_layer.bias[-1] = -20.0
        model.ctc.ctc_lo.bias[0] = -20.0


@pytest.fixture(scope="module")
def espnet_model(yesno_recipe, tmp_path_factory):
    """A Conformer CTC/attention model on precomputed features."""
    out = tmp_path_factory.mktemp("espnet_conformer")
    tokens = (yesno_recipe / "data" / "token_list" / "word" / "tokens.txt").read_text().split()
    config = {**ESPNET_CONFIG, "token_list": tokens,
              "normalize_conf": {"stats_file": str(yesno_recipe / "data" / "train_nodev" / "cmvn.npz")}}
    return build_espnet_model(config, out)


def test_imported_model_decodes_the_same_in_both(espnet_model, yesno_test, tmp_path):
    exp = import_espnet(espnet_model / "config.yaml", espnet_model / "valid.acc.ave.pth", tmp_path / "exp")
    decode = DecodeConfig(beam_size=4, ctc_weight=0.3)
    recognizer = Recognizer.from_exp_dir(exp, decode)
    assert type(recognizer.model.encoder).__name__ == "ConformerEncoder"
    # An untrained model's hypotheses run to the maximum length: short inputs keep the search short.
    short = FeatureSet({u: yesno_test.load(u)[:120] for u in sorted(yesno_test.num_frames)[:8]},
                       {u: 120 for u in sorted(yesno_test.num_frames)[:8]})
    ours = {utt: r.text for utt, r in recognizer.recognize_set(short, sorted(short.num_frames)).items()}
    theirs = espnet_1best(speech2text(espnet_model / "config.yaml", espnet_model / "valid.acc.ave.pth", decode),
                          {utt: short.load(utt) for utt in ours})
    assert len(ours) == 8 and all(ours.values())
    assert theirs == ours


def test_imported_model_fine_tunes(espnet_model, yesno_recipe, tmp_path):
    exp = import_espnet(espnet_model / "config.yaml", espnet_model / "valid.acc.ave.pth", tmp_path / "imported")
    config = yaml.safe_load((exp / "config.yaml").read_text())
    (tmp_path / "finetune.yaml").write_text(yaml.safe_dump({**config, "max_epoch": 1, "batch_frames": 1400,
                                                            "keep_nbest": 1}))
    data = yesno_recipe / "data"
    inputs = Inputs(data / "train_nodev", data / "train_dev", data / "token_list" / "word", data / "train_nodev" / "cmvn.npz")
    train(tmp_path / "finetuned", tmp_path / "finetune.yaml", inputs, init=exp / "valid.acc.ave.pth")
    before = torch.load(exp / "valid.acc.ave.pth")
    after = torch.load(tmp_path / "finetuned" / "valid.acc.ave.pth")
    assert before.keys() == after.keys()
    assert not torch.equal(before["encoder.encoders.0.self_attn.linear_q.weight"],
                           after["encoder.encoders.0.self_attn.linear_q.weight"])


def test_unsupported_models_are_refused_by_name(espnet_model, tmp_path):
    config = yaml.safe_load((espnet_model / "config.yaml").read_text())
    (tmp_path / "rnn.yaml").write_text(yaml.safe_dump({**config, "encoder": "rnn"}))
    with pytest.raises(InteropError, match=r"rnn\.yaml: encoder: rnn is not supported"):
        import_espnet(tmp_path / "rnn.yaml", espnet_model / "valid.acc.ave.pth", tmp_path / "exp")
    (tmp_path / "ssl.yaml").write_text(yaml.safe_dump({**config, "input_size": None, "frontend": "s3prl"}))
    with pytest.raises(InteropError, match=r"ssl\.yaml: frontend: s3prl is not supported without input_size"):
        import_espnet(tmp_path / "ssl.yaml", espnet_model / "valid.acc.ave.pth", tmp_path / "exp")


# The model zoo's usual layout: waveforms in, espnet2's STFT log-mel frontend, global MVN over its output.
WAVEFORM_FRONTEND = {"fs": "8k", "n_fft": 256, "win_length": 200, "hop_length": 80, "n_mels": 40}


@pytest.fixture(scope="module")
def short_yesno_audio(yesno_recipe, tmp_path_factory) -> Path:
    """A data dir of 8 yesno test utterances cut to 1.2 s: an untrained model's search runs to the maximum length."""
    data = load_data_dir(yesno_recipe / "data" / "test_yesno")
    out = tmp_path_factory.mktemp("short_yesno")
    wav_scp = {}
    for utt in data.utt_ids[:8]:
        samples, fs = read_audio(data.wav_scp[utt])
        soundfile.write(out / f"{utt}.wav", samples[: int(1.2 * fs)], fs)
        wav_scp[utt] = str(out / f"{utt}.wav")
    write_data_dir(out / "data", wav_scp, {u: data.text[u] for u in wav_scp}, {u: data.utt2spk[u] for u in wav_scp})
    return out / "data"


@pytest.fixture(scope="module")
def espnet_waveform_model(yesno_recipe, short_yesno_audio, tmp_path_factory):
    """A Conformer model reading waveforms through espnet2's DefaultFrontend, with stats over that frontend's output."""
    out = tmp_path_factory.mktemp("espnet_waveform")
    log_mels = [espnet_log_mel(read_audio(path)[0], WAVEFORM_FRONTEND)
                for path in read_dict(short_yesno_audio / "wav.scp").values()]
    frames = np.concatenate(log_mels).astype(np.float64)
    np.savez(out / "feats_stats.npz", count=np.array(len(frames)), sum=frames.sum(0), sum_square=(frames**2).sum(0))
    tokens = (yesno_recipe / "data" / "token_list" / "word" / "tokens.txt").read_text().split()
    config = {**ESPNET_CONFIG, "input_size": None, "frontend": "default", "frontend_conf": WAVEFORM_FRONTEND,
              "token_list": tokens, "normalize_conf": {"stats_file": str(out / "feats_stats.npz")}}
    return build_espnet_model(config, out)


def test_waveform_model_imports_decodes_the_same_and_exports_back(espnet_waveform_model, short_yesno_audio,
                                                                  yesno_recipe, tmp_path):
    espnet_model = espnet_waveform_model
    exp = import_espnet(espnet_model / "config.yaml", espnet_model / "valid.acc.ave.pth", tmp_path / "exp")
    fbank_config = load_fbank_config(exp / "fbank.yaml")
    assert (fbank_config.fs, fbank_config.n_mels, fbank_config.espnet_frontend) == (8000, 40, WAVEFORM_FRONTEND)
    # No feats.scp in the data dir: decode computes features from audio with the exp dir's fbank.yaml.
    decode = DecodeConfig(beam_size=4, ctc_weight=0.3)
    ours = {utt: r.text for utt, r in decode_data_dir(exp, short_yesno_audio, decode).items()}
    model, feats = Recognizer.from_exp_dir(exp).model, FeatureSet.from_audio(short_yesno_audio, fbank_config)
    waveforms = {utt: read_audio(path)[0] for utt, path in read_dict(short_yesno_audio / "wav.scp").items()}
    espnet = speech2text(espnet_model / "config.yaml", espnet_model / "valid.acc.ave.pth", decode)
    theirs = espnet_1best(espnet, waveforms)
    assert len(ours) == 8 and all(ours.values())
    assert theirs == ours
    # The features are espnet2's own: the encoder sees the same input from our fbank as from its frontend.
    with torch.no_grad():
        for utt, samples in waveforms.items():
            their_encoding, _ = espnet.asr_model.encode(torch.from_numpy(samples)[None], torch.tensor([len(samples)]))
            our_encoding, _ = model.encode(torch.from_numpy(feats.load(utt))[None], torch.tensor([feats.num_frames[utt]]))
            torch.testing.assert_close(our_encoding, their_encoding, rtol=1e-4, atol=1e-4)

    # The recipe's Kaldi-fbank feats.scp is not what this model reads: decode says so instead of decoding it.
    refused = subprocess.run([sys.executable, "-m", "asrkit.cli", "decode", str(exp),
                              str(yesno_recipe / "data" / "test_yesno"),
                              str(tmp_path / "refused")], capture_output=True, text=True)
    assert refused.returncode != 0 and "fbank.yaml: the features differ from the model's" in refused.stderr

    back = tmp_path / "exported"
    export_espnet(exp, back)
    exported = yaml.safe_load((back / "config.yaml").read_text())
    assert (exported["frontend"], exported["input_size"]) == ("default", None)
    again = espnet_1best(speech2text(back / "config.yaml", back / "valid.acc.ave.pth", decode), waveforms)
    assert again == ours
