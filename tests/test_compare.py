"""`asrkit compare`: the paired bootstrap of two decode dirs, on the yesno recipe's real decode output."""

import shutil
import subprocess
import sys

import numpy as np
import pytest

from asrkit.data.datadir import read_dict, write_table
from asrkit.errors import AsrkitError
from asrkit.scoring import compare_decode_dirs, paired_bootstrap


def yesno_decode(recipe):
    return recipe / "exp" / "asr_train" / "decode_decode_valid.acc.ave" / "test_yesno", recipe / "data" / "test_yesno"


def figures(stdout):
    return {name: float(value) for name, value, _ in (line.split() for line in stdout.splitlines())}


def test_a_decode_dir_against_itself_differs_by_zero_with_p_one(yesno_recipe):
    decode, data = yesno_decode(yesno_recipe)
    result = subprocess.run([sys.executable, "-m", "asrkit.cli", "compare", str(decode), str(decode), str(data),
                             "--resamples", "2000"], capture_output=True, text=True, check=True)
    out = figures(result.stdout)
    assert out["utterances"] == 29 and out["words"] == 29 * 8
    assert out["wer_diff"] == 0 and out["wer_diff_low"] == 0 and out["wer_diff_high"] == 0
    assert out["p_value"] == 1.0 and out["wer_a"] == out["wer_b"]


def test_injected_errors_are_a_significant_difference_and_a_few_are_not(yesno_recipe, tmp_path):
    decode, data = yesno_decode(yesno_recipe)
    hyps = read_dict(decode / "text")
    flip = {"YES": "NO", "NO": "YES"}

    def with_errors(name, utterances):
        # every word of the first `utterances` hypotheses swapped: 8 errors each
        damaged = {u: " ".join(flip[w] for w in text.split()) if i < utterances else text
                   for i, (u, text) in enumerate(hyps.items())}
        shutil.copytree(decode, tmp_path / name)
        write_table(tmp_path / name / "text", damaged)
        return compare_decode_dirs(decode, tmp_path / name, data, resamples=2000)

    many, one = with_errors("many", 8), with_errors("one", 1)
    # 64 flipped words, less the few the model had wrong (flipped right): about 18 points on 232 words
    assert many.diff > 15 and many.p_value < 0.01 and many.diff_low > 0
    assert many.detectable < many.diff
    # one utterance's 8 errors: within what 29 utterances can tell apart
    assert one.p_value > 0.05 and one.diff_low <= 0 <= one.diff_high


def test_the_p_value_follows_the_spread_not_only_the_mean():
    words = np.full(100, 10)
    steady = paired_bootstrap(np.zeros(100), np.ones(100), words, resamples=2000)  # 1 more error everywhere
    lumpy = paired_bootstrap(np.zeros(100), np.r_[np.full(5, 20), np.zeros(95)], words, resamples=2000)
    assert steady.diff == lumpy.diff == 10
    assert steady.p_value < 0.001 and steady.detectable == 0
    assert lumpy.p_value > steady.p_value and lumpy.detectable > 5
    assert paired_bootstrap(np.zeros(100), np.ones(100), words, 500, seed=3) == \
        paired_bootstrap(np.zeros(100), np.ones(100), words, 500, seed=3)


def test_a_hypothesis_for_an_utterance_not_in_the_reference_is_a_one_line_error(tmp_path):
    write_table(tmp_path / "data" / "text", {"u1": "a b", "u2": "c"})
    write_table(tmp_path / "a" / "text", {"u1": "a b", "u2": "c"})
    write_table(tmp_path / "b" / "text", {"u1": "a", "u3": "c"})
    with pytest.raises(AsrkitError, match=r"b/text: utterance 'u3' is not in the reference"):
        compare_decode_dirs(tmp_path / "a", tmp_path / "b", tmp_path / "data")
