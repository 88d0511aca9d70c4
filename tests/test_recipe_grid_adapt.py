"""egs/grid/adapt1 stage 1 (local/data.sh) on the real GRID s1 corpus: the split scenario B's claims rest on. The
later stages are bin/asr.sh's, whose adapt stage the yesno recipe test runs end to end."""

from conftest import run_recipe, shared_corpus

from asrkit.data.datadir import read_dict


def test_held_out_pairs_are_absent_from_the_base_data_and_only_in_the_target_text_and_test(tmp_path):
    recipe = tmp_path / "adapt1"
    run_recipe("grid", recipe, "--stop_stage", "1", "--local_data_opts", "--heldout_pairs bin:blue,lay:green "
               "--target_sentences 40", task="adapt1", GRID_S1=str(shared_corpus("grid_s1")))
    data = recipe / "data"
    pairs = {("bin", "blue"), ("lay", "green")}

    def pair(text):
        return tuple(text.split()[:2])

    tables = {name: read_dict(data / name / "text") for name in ("train", "dev", "test", "test_pairs")}
    texts = {name: list(table.values()) for name, table in tables.items()}
    assert not any(pair(t) in pairs for name in ("train", "dev", "test") for t in texts[name])
    assert texts["test_pairs"] and all(pair(t) in pairs for t in texts["test_pairs"])
    assert len(set().union(*tables.values())) == sum(map(len, tables.values())) == 1000  # each utterance in one set
    target = (data / "local" / "target.txt").read_text().splitlines()
    assert len(target) == 40 and {pair(t) for t in target} <= pairs
    assert not set(target) & set(texts["test_pairs"])


def test_held_out_letters_replace_the_pairs_and_the_target_text_has_only_those_letters_which_the_token_list_can_write(
        tmp_path):
    recipe = tmp_path / "adapt1"
    run_recipe("grid", recipe, "--stop_stage", "1", "--local_data_opts", "--heldout_letters n-z "
               "--target_sentences 200", task="adapt1", GRID_S1=str(shared_corpus("grid_s1")))
    data = recipe / "data"
    letters = set("nopqrstuvxyz")
    tables = {name: read_dict(data / name / "text") for name in ("train", "dev", "test", "test_letters")}
    assert not (data / "test_pairs").exists()  # the default pairs are not held out as well
    assert not any(t.split()[3] in letters for name in ("train", "dev", "test") for t in tables[name].values())
    assert {t.split()[3] for t in tables["test_letters"].values()} == letters
    target = (data / "local" / "target.txt").read_text().splitlines()
    assert len(target) == 200 and all(t.split()[3] in letters for t in target)
    assert not set(target) & set(tables["test_letters"].values())
    # 'q' is in no word the base hears, yet the token list (stage 5, from data/local/token_text) can write it.
    assert "q" not in "".join(tables["train"].values())
    run_recipe("grid", recipe, "--stage", "5", "--stop_stage", "5", task="adapt1")
    assert "q" in (data / "token_list" / "char" / "tokens.txt").read_text().split()
