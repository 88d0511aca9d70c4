#!/usr/bin/env python3
"""Decoding speed, asrkit vs espnet2: the FSDD recipe's trained model, the same beam and CTC weight.

    .venv/bin/python bench/decode.py [--test-set test] [--max-utts N] [--num-threads 2]

asrkit decodes the test set in batches (asrkit.asr.recognize.Recognizer, as `asrkit decode` does); espnet2's Speech2Text decodes the same
features one utterance at a time from the model `asrkit export` wrote. Reports the share of utterances with the same
1-best (ESPnet's stray `<sos/eos>`, issue #4174, removed first), the WER, wall time and RTF of each, and the speed-up.
Model loading and imports are outside the timings.
"""

import time

import torch
from common import OUT, emit, fsdd_recipe, parser, start

from asrkit.asr.batching import FeatureSet
from asrkit.asr.decode_dir import write_decode_dir
from asrkit.asr.decoding import load_decode_config
from asrkit.asr.recognize import Recognizer
from asrkit.data.datadir import read_dict, write_table
from asrkit.interop.espnet import export_espnet
from asrkit.scoring import score_decode_dir

FRAME_SHIFT_S = 0.01


def decode_asrkit(exp, feats, utts, config, out_dir) -> float:
    recognizer = Recognizer.from_exp_dir(exp, config)
    begin = time.perf_counter()
    results = recognizer.recognize_set(feats, utts)
    wall = time.perf_counter() - begin
    write_decode_dir(results, out_dir, config.nbest)
    return wall


def decode_espnet(model_dir, feats, utts, config, out_dir) -> float:
    from espnet2.bin.asr_inference import Speech2Text

    speech2text = Speech2Text(str(model_dir / "config.yaml"), str(model_dir / "valid.acc.ave.pth"),
                              beam_size=config.beam_size, ctc_weight=config.ctc_weight, penalty=config.length_bonus,
                              maxlenratio=config.maxlenratio, minlenratio=config.minlenratio, nbest=1, lm_weight=0.0)
    texts = {}
    begin = time.perf_counter()
    for utt in utts:
        texts[utt] = speech2text(torch.from_numpy(feats.load(utt)))[0][0]
    wall = time.perf_counter() - begin
    write_table(out_dir / "text", {u: " ".join(w for w in t.split() if w != "<sos/eos>") for u, t in texts.items()})
    return wall


def main():
    p = parser(__doc__.splitlines()[1])
    p.add_argument("--test-set", default="test")
    p.add_argument("--max-utts", type=int, default=0, help="decode only the first N utterances (0: all)")
    args = p.parse_args()
    start(args)
    recipe = fsdd_recipe()
    exp, data_dir, out = recipe / "exp" / "asr_train", recipe / "data" / args.test_set, OUT / "decode"
    config = load_decode_config(recipe / "conf" / "decode.yaml")
    feats = FeatureSet.from_data_dir(data_dir)
    utts = sorted(feats.num_frames)[: args.max_utts or None]
    audio_s = sum(feats.num_frames[u] for u in utts) * FRAME_SHIFT_S
    export_espnet(exp, out / "espnet_model")
    ours = decode_asrkit(exp, feats, utts, config, out / "asrkit")
    theirs = decode_espnet(out / "espnet_model", feats, utts, config, out / "espnet")
    refs = read_dict(data_dir / "text")
    write_table(out / "text", {u: refs[u] for u in utts})  # the references of the utterances decoded
    hyps = [read_dict(out / name / "text", allow_empty_value=True) for name in ("asrkit", "espnet")]
    emit("decode.utterances", len(utts), "utt")
    emit("decode.audio", audio_s, "s")
    emit("decode.identical_1best", 100 * sum(hyps[0][u] == hyps[1][u] for u in utts) / len(utts), "%")
    for name, wall in (("asrkit", ours), ("espnet", theirs)):
        wer = score_decode_dir(out / "text", out / name / "text", out / name)["wer"]
        emit(f"decode.{name}.wer", wer, "%")
        emit(f"decode.{name}.wall", wall, "s")
        emit(f"decode.{name}.rtf", wall / audio_s, "")
    emit("decode.speedup", theirs / ours, "x")


if __name__ == "__main__":
    main()
