"""egs/tts_digits/asr1 end to end through run.sh, shrunk: a few synthetic utterances, a tiny model, one epoch."""

import yaml
from conftest import run_recipe, shared_corpus

TINY_MODEL = {
    "seed": 0,
    "max_epoch": 1,
    "batch_frames": 2000,
    "warmup_steps": 5,
    "keep_nbest": 1,
    "model": {
        "input_size": 80,
        "encoder": {"output_size": 32, "attention_heads": 2, "num_blocks": 1, "linear_units": 32,
                    "cgmlp_linear_units": 32, "cgmlp_conv_kernel": 3, "input_layer": "conv2d8"},
        "decoder": {"attention_heads": 2, "linear_units": 32, "num_blocks": 2},
        "decred": {"layers": [1], "weights": [0.3], "final_weight": 0.7},
    },
}
FEW_TEXTS = "--n_train 24 --n_dev 8 --n_test 4"
FSDD_FILES = [f"{digit}_{speaker}_0.wav" for digit in (3, 7) for speaker in ("jackson", "nicolas")]


def test_synthetic_digits_recipe_scores_held_out_voices_and_real_fsdd(tmp_path):
    fsdd = tmp_path / "fsdd" / "recordings"
    fsdd.mkdir(parents=True)
    for name in FSDD_FILES:  # a few real recordings keep the decode short
        (fsdd / name).symlink_to(shared_corpus("fsdd") / "recordings" / name)
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(yaml.safe_dump(TINY_MODEL))
    recipe = tmp_path / "asr1"
    run_recipe("tts_digits", recipe, "--local_data_opts", FEW_TEXTS, "--asr_config", str(tiny), FSDD=str(fsdd.parent))

    speakers = {line.split()[0] for line in (recipe / "data" / "test_heldout" / "spk2utt").read_text().splitlines()}
    assert speakers == {"flite_rms", "festival_ked_diphone", "espeak-ng_en-029_f4"}
    train_speakers = (recipe / "data" / "train" / "utt2spk").read_text()
    assert not any(speaker in train_speakers for speaker in speakers), "a held-out voice is in training"
    results = (recipe / "RESULTS.md").read_text()
    assert "decode_decode_valid.acc.ave/test_heldout|12|" in results  # 4 texts x 3 held-out voices
    assert f"decode_decode_valid.acc.ave/test_fsdd|{len(FSDD_FILES)}|" in results
