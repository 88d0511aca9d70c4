"""`asrkit refine run` on real GRID s1 speech with tiny models: the unlabeled text stays closed, a round killed in
TTS training resumes with its labels, the synthetic set is valid and spoken by the unlabeled speakers, and the
confidence filter keeps exactly what it says."""

import sys
from pathlib import Path

import pytest
import yaml
from conftest import shared_corpus

from asrkit.data.datadir import read_dict, validate_data_dir, write_data_dir, load_data_dir
from asrkit.refine.config import SelectConfig
from asrkit.refine.select import confidences, select

WATCHED: set[str] = set()  # paths whose opening the audit hook reports
OPENED: list[str] = []


def _audit(event, args):
    if event == "open" and WATCHED and isinstance(args[0], (str, bytes, Path)) and str(Path(str(args[0])).resolve()) in WATCHED:
        OPENED.append(str(args[0]))
        raise PermissionError(f"{args[0]}: the unlabeled set's text must not be opened")


sys.addaudithook(_audit)


@pytest.fixture(scope="module")
def refined(grid_aligned, grid_tts, tmp_path_factory, monkeypatch_module):
    """One twister round from the tiny GRID model: killed after the TTS's first epoch, then run again."""
    import asrkit.train.loop
    from asrkit.refine.rounds import run_refine

    root = tmp_path_factory.mktemp("refine")
    data = load_data_dir(grid_aligned["data"])
    # The 12 utterances as two speakers; their text is there, unreadable, as an unlabeled set's may be.
    write_data_dir(root / "unlabeled", data.wav_scp, data.text,
                   {utt: ("s1a" if i % 2 else "s1b") for i, utt in enumerate(data.utt_ids)})
    (root / "target.txt").write_text("bin blue at f two now\nset red by g nine soon\nlay green in a one again\n"
                                     "place white with z zero please\n")
    tts = yaml.safe_load(grid_aligned["tts_config"].read_text()) | {"max_epoch": 2}
    (root / "tts.yaml").write_text(yaml.safe_dump(tts))
    config = {"seed_exp": str(grid_aligned["asr"]), "unlabeled": str(root / "unlabeled"),
              "target_text": str(root / "target.txt"), "tts_config": str(root / "tts.yaml"),
              "train_data": str(grid_aligned["data"]), "dev_data": str(grid_aligned["data"]),
              "select": {"threshold": 0.0}, "curate": {"max_wer": 100.0, "speeds": [1.0, 1.1]},
              "finetune": {"max_epoch": 1, "keep_nbest": 1, "original_ratio": 0.25, "warmup_steps": 2}}
    (root / "refine.yaml").write_text(yaml.safe_dump(config))
    real_plot = asrkit.train.loop.plot_history

    def killed_in_tts(history, out_dir):
        real_plot(history, out_dir)
        if "tts" in Path(out_dir).parts:
            raise KeyboardInterrupt("killed during TTS training")

    WATCHED.add(str((root / "unlabeled" / "text").resolve()))
    try:
        monkeypatch_module.setattr(asrkit.train.loop, "plot_history", killed_in_tts)
        with pytest.raises(KeyboardInterrupt):
            run_refine(root / "refine.yaml", root / "exp")
        kept = root / "exp" / "round1" / "labels" / "kept" / "text"
        before = (kept.read_bytes(), kept.stat().st_mtime_ns)
        monkeypatch_module.setattr(asrkit.train.loop, "plot_history", real_plot)
        summary = run_refine(root / "refine.yaml", root / "exp")
    finally:
        WATCHED.clear()
    return {"root": root, "round": root / "exp" / "round1", "summary": summary, "kept_before": before}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_refine_never_opens_the_unlabeled_text(refined, tmp_path):
    assert OPENED == []
    (tmp_path / "text").write_text("a b\n")
    WATCHED.add(str((tmp_path / "text").resolve()))
    try:  # the audit hook does see an open of a watched file
        with pytest.raises(PermissionError):
            (tmp_path / "text").read_text()
    finally:
        WATCHED.clear()
        OPENED.clear()
    assert (refined["round"] / "labels" / "unlabeled" / "wav.scp").is_file()
    assert not (refined["round"] / "labels" / "unlabeled" / "text").exists()


def test_a_round_killed_in_tts_training_resumes_with_the_same_labels(refined):
    kept = refined["round"] / "labels" / "kept" / "text"
    assert (kept.read_bytes(), kept.stat().st_mtime_ns) == refined["kept_before"]
    log = (refined["round"] / "tts" / "exp" / "train.log").read_text()
    assert "resumed from" in log and "epoch 2:" in log


def test_the_synthetic_data_dir_validates_and_is_spoken_by_the_unlabeled_speakers(refined):
    synthetic = refined["round"] / "synth" / "data"
    assert validate_data_dir(synthetic) == []
    speakers = set(read_dict(synthetic / "utt2spk").values())
    # speed copies carry Kaldi's spF- prefix on their speaker ids
    assert {spk.split("-", 1)[1] if spk.startswith("sp1.1-") else spk for spk in speakers} == {"s1a", "s1b"}
    assert len(read_dict(synthetic / "text")) == 2 * 4


def test_the_summary_has_a_row_for_the_round(refined):
    header, row = refined["summary"].read_text().splitlines()
    values = dict(zip(header.split("\t"), row.split("\t")))
    assert values["round"] == "1" and values["arm"] == "twister" and values["unlabeled"] == "12"
    assert 0 < float(values["acceptance"]) <= 1 and values["dev_wer"] != ""


@pytest.mark.parametrize("kind", ["ctc", "margin"])
def test_the_filter_keeps_exactly_the_utterances_above_the_threshold(refined, kind):
    decode = refined["round"] / "labels" / "decode"
    scores = confidences(decode, kind)
    hyps = read_dict(decode / "text", allow_empty_value=True)
    assert len(scores) == 12 and all(0 <= s <= 1 for s in scores.values())
    for threshold in sorted(set(scores.values())):
        kept = select(scores, hyps, SelectConfig(kind, threshold))
        assert kept == sorted(u for u, s in scores.items() if s > threshold and hyps[u].strip())
    top = select(scores, hyps, SelectConfig(kind, None, 0.25))
    rest = [scores[u] for u in scores if u not in top and hyps[u].strip()]
    assert len(top) == min(3, len(rest) + len(top)) and min(scores[u] for u in top) >= max(rest, default=0)


def test_the_curve_scores_the_confidence_against_the_hidden_labels_and_the_table_gathers_it(refined):
    from asrkit.refine.curve import write_curve
    from asrkit.refine.table import write_table

    labels = refined["round"] / "labels"
    lines = write_curve(labels, refined["root"] / "unlabeled" / "text", refined["round"] / "curve").read_text().splitlines()
    assert len(lines) == 1 + 12 and lines[-1].startswith("1.0000\t")
    table = write_table(refined["root"]).read_text().splitlines()
    assert table[0].startswith("| arm | round | acceptance | pl_precision |") and table[2].startswith("| exp | 1 | 1.000 |")


def test_short_utterances_of_a_speaker_are_concatenated(tmp_path):
    import soundfile

    from asrkit.data.fsdd import read_recordings, write_recordings
    from asrkit.refine.concat import concatenate_short

    recordings = [r for r in read_recordings(shared_corpus("fsdd") / "recordings") if r.take == 0 and r.digit < 3
                  and r.speaker in ("george", "jackson")]
    write_recordings(tmp_path / "src", recordings)
    assert concatenate_short(tmp_path / "src", tmp_path / "dst", below=5.0, count=2, gap=0.1) == 4
    text = read_dict(tmp_path / "dst" / "text")
    assert text == {"george_0_00+2": "zero one", "george_2_00": "two", "jackson_0_00+2": "zero one", "jackson_2_00": "two"}
    joined = soundfile.info(read_dict(tmp_path / "dst" / "wav.scp")["george_0_00+2"])
    parts = [soundfile.info(str(r.path)).frames for r in recordings if r.speaker == "george" and r.digit < 2]
    assert joined.frames == sum(parts) + 800 and validate_data_dir(tmp_path / "dst") == []


def test_a_refine_run_resumed_under_another_config_is_refused_naming_the_changed_values(refined):
    from asrkit.errors import ConfigError
    from asrkit.refine.config import RefineConfig
    from asrkit.refine.rounds import check_same_config

    root = refined["root"]
    config = RefineConfig.load(root / "refine.yaml")
    config.rounds = 3  # more rounds: allowed, they are added
    check_same_config(config, root / "refine.yaml", root / "exp")
    config.finetune.lr = 0.01
    tts = yaml.safe_load((root / "tts.yaml").read_text()) | {"max_epoch": 3}
    (root / "tts_changed.yaml").write_text(yaml.safe_dump(tts))
    config.tts_config = str(root / "tts_changed.yaml")
    with pytest.raises(ConfigError, match=r"finetune\.lr, tts_config, tts_config_values\.max_epoch \("):
        check_same_config(config, root / "refine.yaml", root / "exp")
