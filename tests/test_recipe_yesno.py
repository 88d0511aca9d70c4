"""The yesno recipe end to end (stages 1-7) on the real recordings, through run.sh as a user runs it."""

import json

from conftest import run_recipe


def test_recipe_produces_the_espnet_layout_and_a_low_wer(yesno_recipe):
    decode = yesno_recipe / "exp" / "asr_train" / "decode_decode_valid.acc.ave" / "test_yesno"
    summary = json.loads((decode / "score_wer" / "summary.json").read_text())
    assert summary["n_sent"] == 29 and summary["n_words"] == 29 * 8
    assert summary["wer"] <= 5.0, f"yesno WER {summary['wer']} %"
    for name in ("text", "token", "score", "score_wer/result.txt", "score_cer/result.txt"):
        assert (decode / name).exists(), name
    results = (yesno_recipe / "RESULTS.md").read_text()
    assert "decode_decode_valid.acc.ave/test_yesno" in results


def test_data_dirs_follow_kaldis_split(yesno_recipe):
    counts = {name: len((yesno_recipe / "data" / name / "text").read_text().splitlines())
              for name in ("train_nodev", "train_dev", "test_yesno")}
    assert counts == {"train_nodev": 28, "train_dev": 3, "test_yesno": 29}


def test_rerunning_a_finished_stage_is_harmless(yesno_recipe):
    before = (yesno_recipe / "data" / "test_yesno" / "feats.scp").read_text()
    run_recipe("yesno", yesno_recipe, "--stage", "3", "--stop_stage", "3")
    assert (yesno_recipe / "data" / "test_yesno" / "feats.scp").read_text() == before


def test_unknown_option_is_a_clear_error(yesno_recipe):
    result = run_recipe("yesno", yesno_recipe, "--no_such_option", "1", check=False)
    assert result.returncode != 0
    assert "invalid option --no_such_option" in result.stderr
