"""Stage 1, labels: the unlabeled speech with labels to learn from: confident pseudo-labels, or (true-label arms) the
true ones.

The unlabeled data dir is first copied as a text-less view, STAGE/unlabeled/ (wav.scp, utt2spk, spk2utt, segments):
every later step reads that view, so the unlabeled set's `text` is never opened, by refine or by anything it calls.
STAGE/
    unlabeled/   the view
    decode/      the current model's decode dir of the view (pseudo-label arms; nbest 2 for the margin confidence)
    confidence   `uttid confidence` of the configured kind (asrkit/refine/select.py), every utterance
    kept/        data dir of the kept utterances, `text` their labels: what the TTS and self-training learn from
"""

import dataclasses
from pathlib import Path

from asrkit.data.datadir import read_dict, subset_data_dir, utt2spk_to_spk2utt, write_table
from asrkit.errors import AsrkitError
from asrkit.fileio import copy_file
from asrkit.refine.config import RefineConfig
from asrkit.refine.select import confidences, select

VIEW_FILES = ("wav.scp", "utt2spk", "segments")  # what the view copies; never `text`


def unlabeled_view(src: Path, dst: Path) -> Path:
    """DST: the data dir SRC without its text (or anything else describing what was said)."""
    for name in VIEW_FILES:
        if (Path(src) / name).is_file():
            copy_file(Path(src) / name, Path(dst) / name)
        elif name != "segments":
            raise AsrkitError(f"{Path(src) / name}: missing (every data dir needs it)")
    utt2spk = read_dict(Path(dst) / "utt2spk")
    write_table(Path(dst) / "spk2utt", {spk: " ".join(utts) for spk, utts in utt2spk_to_spk2utt(utt2spk).items()})
    return Path(dst)


def label_stage(config: RefineConfig, current_exp: Path, stage_dir: Path) -> Path:
    """Run the stage (module docstring); returns the kept data dir."""
    view = unlabeled_view(Path(config.unlabeled), stage_dir / "unlabeled")
    utts = sorted(read_dict(view / "utt2spk"))
    if config.labels_from == "true":
        labels = read_dict(config.true_labels)
        missing = [utt for utt in utts if utt not in labels]
        if missing:
            raise AsrkitError(f"{config.true_labels}: no label for utterance '{missing[0]}' ({len(missing)} missing)")
        scores, kept = {utt: 1.0 for utt in utts}, utts
    else:
        labels = pseudo_label(config, current_exp, view, stage_dir / "decode")
        scores = confidences(stage_dir / "decode", config.select.confidence)
        # A 1-best CTC cannot emit (ctc confidence 0) cannot be aligned for the TTS either: offered as empty.
        ctc = scores if config.select.confidence == "ctc" else confidences(stage_dir / "decode", "ctc")
        kept = select(scores, {utt: text if ctc[utt] > 0 else "" for utt, text in labels.items()}, config.select)
    write_table(stage_dir / "confidence", {utt: f"{score:.4f}" for utt, score in scores.items()})
    if not kept:
        raise AsrkitError(f"{stage_dir}: no utterance is above the confidence threshold {config.select.threshold}")
    return subset_data_dir(view, kept, labels, stage_dir / "kept")


def pseudo_label(config: RefineConfig, current_exp: Path, view: Path, decode_dir: Path) -> dict[str, str]:
    """Decode the view with the current model into DECODE_DIR; the 1-best of each utterance."""
    from asrkit.asr.decode_dir import decode_data_dir, write_decode_dir
    from asrkit.asr.decoding import DecodeConfig, load_decode_config

    decode = load_decode_config(config.decode_config) if config.decode_config else DecodeConfig()
    if config.select.confidence == "margin" and decode.nbest < 2:
        decode = dataclasses.replace(decode, nbest=2)
    write_decode_dir(decode_data_dir(current_exp, view, decode), decode_dir, decode.nbest)
    return read_dict(decode_dir / "text", allow_empty_value=True)


