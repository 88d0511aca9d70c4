"""egs/lj_synth/asr1 stage 1 (local/data.sh) on a dozen sentences: the split the recipe's claims rest on.

The later stages are the shared bin/asr.sh, run end to end by the yesno and tts_digits recipe tests; synthesizing,
training and decoding sentences would take minutes here."""

import re

from conftest import run_recipe, shared_corpus

from asrkit.data.datadir import read_dict, validate_data_dir
from asrkit.data.ljspeech import read_metadata
from asrkit.tts.synth import read_voice_specs, speaker_id
from asrkit.tts.voices import DIGIT_WORDS

READ = {"lj": ["LJ001-0001", "LJ001-0002"], "pm": ["LJ001-0001", "LJ001-0009"]}  # 3 sentences read aloud
GRID_FILES = 11  # the first 11 GRID s1 recordings: index 10 is the one test command of the GRID split


def small_corpora(root):
    """metadata.csv of the first 12 sentences, 4 real readings of 3 of them, 11 GRID recordings."""
    lines = (shared_corpus("ljspeech_text") / "metadata.csv").read_text().splitlines()[:12]
    (root / "text").mkdir()
    (root / "text" / "metadata.csv").write_text("\n".join(lines) + "\n")
    for speaker, ids in READ.items():
        (root / "read" / speaker).mkdir(parents=True)
        for i in ids:
            (root / "read" / speaker / f"{i}.flac").symlink_to(shared_corpus("lj_read") / speaker / f"{i}.flac")
    grid = shared_corpus("grid_s1")
    for sub in ("audio", "align"):
        (root / "grid" / sub).mkdir(parents=True)
    for flac in sorted((grid / "audio").glob("*.flac"))[:GRID_FILES]:
        (root / "grid" / "audio" / flac.name).symlink_to(flac)
        (root / "grid" / "align" / f"{flac.stem}.align").symlink_to(grid / "align" / f"{flac.stem}.align")
    return {"LJSPEECH_TEXT": str(root / "text"), "LJ_READ": str(root / "read"), "GRID_S1": str(root / "grid")}


def sentence_ids(data_dir) -> set[str]:
    """The sentence ids an engine spoke: utterance ids are <speaker>-<sentence id>."""
    return {re.search(r"LJ\d{3}-\d{4}$", utt).group() for utt in read_dict(data_dir / "text")}


def test_no_test_or_read_sentence_and_no_held_out_voice_is_in_training(tmp_path):
    env = small_corpora(tmp_path)
    recipe = tmp_path / "asr1"
    run_recipe("lj_synth", recipe, "--stop_stage", "1", "--local_data_opts",
               "--n_test 2 --n_dev 2 --n_train 0 --n_test_digits 1 --nj 1", **env)

    data = recipe / "data"
    for name in ("train", "dev", "test_heldout", "test_grid", "test_lj_read", "test_digits"):
        assert validate_data_dir(data / name) == [], name
    read = {i for ids in READ.values() for i in ids}
    train, dev, test = sentence_ids(data / "train"), sentence_ids(data / "dev"), sentence_ids(data / "test_heldout")
    assert len(train) == 12 - len(read) - 4 and len(dev) == 2 and len(test) == 2
    assert not train & (test | dev | read) and not test & (dev | read)
    held_out = {speaker_id(v) for v in read_voice_specs(recipe / "conf" / "voices_heldout.txt")}
    assert set(read_dict(data / "test_heldout" / "spk2utt")) == held_out
    assert not held_out & (set(read_dict(data / "train" / "spk2utt")) | set(read_dict(data / "dev" / "spk2utt")))
    # Transcripts are normalised; the real readings get theirs from metadata.csv.
    metadata = read_metadata(tmp_path / "text" / "metadata.csv")
    assert read_dict(data / "test_lj_read" / "text")["pm_LJ001-0009"] == "printing then for our purpose may be considered as the art of making books by means of movable types"
    assert metadata["LJ001-0009"].endswith("movable types.")
    assert all(t == t.lower() and "," not in t and "." not in t for t in read_dict(data / "train" / "text").values())
    grid = read_dict(data / "test_grid" / "text")
    assert len(grid) == len(held_out) and all(len(t.split()) == 6 for t in grid.values())
    # out of domain: one string of 8-15 digit words by each held-out voice, in no training transcript
    digits = read_dict(data / "test_digits" / "text")
    assert set(read_dict(data / "test_digits" / "spk2utt")) == held_out and len(set(digits.values())) == 1
    assert all(8 <= len(t.split()) <= 15 and set(t.split()) <= set(DIGIT_WORDS) for t in digits.values())
    assert not set(digits.values()) & set(read_dict(data / "train" / "text").values())
