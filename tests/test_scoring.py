"""Scoring against hand-counted alignments.

ref / hyp used throughout:
    spk1-utt1  a b c d  /  a x c      C=2 S=1 D=1        (WER 50 %)
    spk1-utt2  e f      /  e f g      C=2 I=1
    spk2-utt1  h i j    /  h i j      C=3
    total: 9 ref words, C=7 S=1 D=1 I=1 -> WER 3/9 = 33.33 %, 2 of 3 sentences wrong
"""

import json
import logging
import subprocess
import sys

import pytest

from asrkit.data.datadir import write_table
from asrkit.errors import AsrkitError
from asrkit.scoring import score_decode_dir, write_results_md

REF = {"spk1-utt1": "a b c d", "spk1-utt2": "e f", "spk2-utt1": "h i j"}
HYP = {"spk1-utt1": "a x c", "spk1-utt2": "e f g", "spk2-utt1": "h i j"}


def write_text(path, entries):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{uttid} {text}\n" for uttid, text in entries.items()))
    return path


def score(tmp_path, ref=REF, hyp=HYP, out_dir=None, utt2spk=None):
    return score_decode_dir(
        write_text(tmp_path / "ref" / "text", ref),
        write_text(tmp_path / "hyp" / "text", hyp),
        out_dir or tmp_path / "decode",
        utt2spk,
    )


def table_row(result_txt, name):
    """The numbers of one table row, e.g. ['3', '9', '77.8', ...]."""
    for line in result_txt.read_text().splitlines():
        cells = line.replace("|", " ").split()
        if cells and cells[0] == name:
            return cells[1:]
    raise AssertionError(f"no row {name!r} in {result_txt}")


def test_wer_summary_json_has_hand_counted_numbers(tmp_path):
    returned = score(tmp_path)
    summary = json.loads((tmp_path / "decode" / "score_wer" / "summary.json").read_text())
    assert summary == returned
    assert summary == {
        "wer": 33.33,
        "n_sent": 3,
        "n_words": 9,
        "corr": 77.78,
        "sub": 11.11,
        "del": 11.11,
        "ins": 11.11,
        "sent_err": 66.67,
        "counts": {"corr": 7, "sub": 1, "del": 1, "ins": 1, "err": 3, "sent_err": 2},
    }


def test_result_txt_has_speaker_rows_and_sum_avg(tmp_path):
    score(tmp_path)
    result = tmp_path / "decode" / "score_wer" / "result.txt"
    assert table_row(result, "SPKR") == ["#", "Snt", "#", "Wrd", "Corr", "Sub", "Del", "Ins", "Err", "S.Err"]
    assert table_row(result, "spk1") == ["2", "6", "66.7", "16.7", "16.7", "16.7", "50.0", "100.0"]
    assert table_row(result, "spk2") == ["1", "3", "100.0", "0.0", "0.0", "0.0", "0.0", "0.0"]
    assert table_row(result, "Sum/Avg") == ["3", "9", "77.8", "11.1", "11.1", "11.1", "33.3", "66.7"]


def test_result_txt_aligns_each_utterance_sclite_style(tmp_path):
    score(tmp_path)
    text = (tmp_path / "decode" / "score_wer" / "result.txt").read_text()
    assert "id: (spk1-utt1)\nScores: (#C #S #D #I) 2 1 1 0\nREF:  a B c D\nHYP:  a X c ***\n" in text
    assert "id: (spk1-utt2)\nScores: (#C #S #D #I) 2 0 0 1\nREF:  e f ***\nHYP:  e f G\n" in text


def test_utt2spk_decides_the_speaker_rows(tmp_path):
    utt2spk = write_text(tmp_path / "utt2spk", {"spk1-utt1": "alice", "spk1-utt2": "bob", "spk2-utt1": "bob"})
    score(tmp_path, utt2spk=utt2spk)
    result = tmp_path / "decode" / "score_wer" / "result.txt"
    assert table_row(result, "alice") == ["1", "4", "50.0", "25.0", "25.0", "0.0", "50.0", "100.0"]
    assert table_row(result, "bob") == ["2", "5", "100.0", "0.0", "0.0", "20.0", "20.0", "50.0"]


def test_uttids_without_speaker_prefix_make_one_row_all(tmp_path):
    score(tmp_path, ref={"u1": "a b", "u2": "c"}, hyp={"u1": "a b", "u2": "d"})
    result = tmp_path / "decode" / "score_wer" / "result.txt"
    assert table_row(result, "all") == ["2", "3", "66.7", "33.3", "0.0", "0.0", "33.3", "50.0"]


def test_cer_counts_characters_without_spaces(tmp_path):
    # words: hello=hello, world->word: 1 sub of 2. chars: "helloworld" vs "helloword": 1 del of 10
    wer = score(tmp_path, ref={"s-1": "hello world"}, hyp={"s-1": "hello word"})
    cer = json.loads((tmp_path / "decode" / "score_cer" / "summary.json").read_text())
    assert wer["wer"] == 50.0
    assert (cer["cer"], cer["n_chars"], cer["n_words"], cer["del"], cer["corr"]) == (10.0, 10, 10, 10.0, 90.0)
    assert cer["counts"] == {"corr": 9, "sub": 0, "del": 1, "ins": 0, "err": 1, "sent_err": 1}
    assert table_row(tmp_path / "decode" / "score_cer" / "result.txt", "Sum/Avg")[:3] == ["1", "10", "90.0"]


def test_missing_hyp_counts_as_deletions_and_is_warned(tmp_path, caplog):
    hyp = {uttid: text for uttid, text in HYP.items() if uttid != "spk2-utt1"}
    with caplog.at_level(logging.WARNING):
        summary = score(tmp_path, hyp=hyp)
    assert "spk2-utt1" in caplog.text
    assert summary["counts"] == {"corr": 4, "sub": 1, "del": 4, "ins": 1, "err": 6, "sent_err": 3}
    assert summary["wer"] == 66.67


def test_hyp_uttid_not_in_ref_is_an_error(tmp_path):
    with pytest.raises(AsrkitError, match="spk9-utt7"):
        score(tmp_path, hyp={**HYP, "spk9-utt7": "z"})


def test_results_md_gathers_decode_dirs_per_exp(tmp_path):
    recipe = tmp_path / "recipe"
    exp = recipe / "exp" / "asr_ebf"
    score(tmp_path, out_dir=exp / "decode_asr" / "test")
    score(tmp_path, hyp=REF, out_dir=exp / "decode_asr" / "dev")
    score(tmp_path, ref={"s-1": "hello world"}, hyp={"s-1": "hello word"}, out_dir=recipe / "exp" / "asr_tiny" / "decode_greedy")

    path = write_results_md(recipe)

    assert path == recipe / "RESULTS.md"
    text = path.read_text()
    ebf = text[text.index("## asr_ebf") : text.index("## asr_tiny")]
    wer_table, cer_table = ebf[ebf.index("### WER") : ebf.index("### CER")], ebf[ebf.index("### CER") :]
    assert "|dataset|Snt|Wrd|Corr|Sub|Del|Ins|Err|S.Err|" in wer_table
    assert "|decode_asr/dev|3|9|100.0|0.0|0.0|0.0|0.0|0.0|" in wer_table
    assert "|decode_asr/test|3|9|77.8|11.1|11.1|11.1|33.3|66.7|" in wer_table
    assert "|decode_asr/test|3|9|77.8|11.1|11.1|11.1|33.3|66.7|" in cer_table  # one-letter words: chars == words
    assert "|decode_greedy|1|10|90.0|0.0|10.0|0.0|10.0|100.0|" in text[text.index("## asr_tiny") :]
    assert "python version" in text


def _asrkit(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "asrkit.cli", *map(str, args)], capture_output=True, text=True)


def test_score_of_an_utterance_missing_from_the_reference_is_a_one_line_error(tmp_path):
    data, decode = tmp_path / "data", tmp_path / "decode"
    write_table(data / "text", REF)
    write_table(decode / "text", {**HYP, "spk9-utt7": "z"})
    result = _asrkit("score", decode, data)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"asrkit score: {decode / 'text'}: utterance 'spk9-utt7' is not in the reference (1 unknown ids)"]


def test_score_of_an_empty_dir_and_results_without_exp_are_one_line_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    for args in (("score", tmp_path / "empty", tmp_path / "empty"), ("results", tmp_path / "empty")):
        result = _asrkit(*args)
        assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith(f"asrkit {args[0]}: ") and "Traceback" not in result.stderr
