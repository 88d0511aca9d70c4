"""The yesno recipe end to end (stages 1-9) on the real recordings, through run.sh as a user runs it."""

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
    run_recipe("yesno", yesno_recipe, "--stage", "4", "--stop_stage", "4")
    assert (yesno_recipe / "data" / "test_yesno" / "feats.scp").read_text() == before


def test_unknown_option_is_a_clear_error(yesno_recipe):
    result = run_recipe("yesno", yesno_recipe, "--no_such_option", "1", check=False)
    assert result.returncode != 0
    assert "invalid option --no_such_option" in result.stderr


def test_the_adapt_stage_fine_tunes_the_decoder_and_stages_8_9_decode_and_score_the_adapted_model(yesno_recipe,
                                                                                                  tmp_path):
    import shutil

    import yaml

    recipe = tmp_path / "asr1"
    shutil.copytree(yesno_recipe, recipe, symlinks=True)  # the shared run stays as the other tests read it
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "tle.yaml").write_text(yaml.safe_dump({"max_epoch": 2, "heldout": 3, "batch_frames": 2000,
                                                   "decode": {"beam_size": 2},
                                                   "model": {"d_model": 32, "text_layers": 1, "frame_layers": 1}}))
    (conf / "adapt.yaml").write_text(yaml.safe_dump({"steps": 4, "valid_every": 2, "batch_size": 4,
                                                     "decode": {"beam_size": 2}}))
    (conf / "target.txt").write_text("YES YES YES YES NO NO NO NO\nYES NO YES NO YES NO YES NO\n")
    run_recipe("yesno", recipe, "--stage", "7", "--test_sets", "test_yesno", "--adapt_config", str(conf / "adapt.yaml"),
               "--tle_config", str(conf / "tle.yaml"), "--adapt_text", str(conf / "target.txt"))
    adapted = recipe / "exp" / "asr_train_adapt_tle_adapt"
    assert json.loads((recipe / "exp" / "tle_train_tle" / "summary.json").read_text())["heldout_utts"] == 3
    assert json.loads((adapted / "summary.json").read_text())["method"] == "tle"
    summary = adapted / "decode_decode_valid.acc.ave" / "test_yesno" / "score_wer" / "summary.json"
    assert json.loads(summary.read_text())["n_sent"] == 29
    assert "## asr_train_adapt_tle_adapt\n" in (recipe / "RESULTS.md").read_text()
