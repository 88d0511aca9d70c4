#!/usr/bin/env python3
"""Text-only adaptation, every method against the base in one table: egs/grid/adapt1 (scenario B) over seeds.

    .venv/bin/python bench/adapt.py --seeds 0 1 2
    .venv/bin/python bench/adapt.py --scenario letters --seeds 0    # the stress row: letters n-z held out

Per seed, one copy of the recipe (its configs' `seed:` set to the seed) trains the base (stages 1-6: an s1 char model
that never heard the held-out command x colour pairs) and then, from that one base, the arms of the issue's table:
    base         the base model decoded as it is
    lm           the base with shallow fusion of a char LSTM LM trained on the target text (conf/lm.yaml, `lm_weight`
                 below)
    tts          decoder fine-tuned on the target text spoken by the 27 engine voices of egs/lj_synth/asr1
                 (conf/voices_train.txt, round robin: one utterance per sentence) through the real encoder
    tle          decoder fine-tuned on the target text through the text-to-latent VAE (WhisTLE)
    tle+tts      both
    tle+tts+lm   tle+tts decoded with the LM
Every arm is decoded with the recipe's CTC weight (conf/decode.yaml) and with CTC weight 0 (conf/decode_ctc0.yaml):
the frozen CTC never saw the target pairs. Target = test_pairs (every real s1 utterance with a held-out pair), source
= test (the rest of the s1 test split). With `--scenario letters` (the issue's stress row) the base never hears the
letters n-z instead (target = test_letters, the target text's sentences have those letters): letter names are
acoustically new to its encoder, which decoder-only adaptation is not expected to mend.

Files (SCENARIO: grid for the pairs, grid_letters):
    bench/out/adapt/SCENARIO/seed<N>/            the recipe copy: data, base, LM, TLE, adapted exp dirs, logs/
    bench/results/adapt_SCENARIO.md, .json, .png the table (mean [min, max] over seeds), a PNG of target WER by
                                                 method, and every per-seed figure
Resumable: each step is skipped when its output exists (the base's valid.acc.ave.pth, an adapted exp dir's
summary.json, a decode dir's score_wer/summary.json).
"""

import argparse
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from recipes import RECIPE_OUTPUTS, read_json, run_logged, run_recipe, set_seed, spread, write_file  # noqa: E402

from asrkit.data.datadir import read_dict  # noqa: E402  (recipes.py put this checkout first on the path)
from asrkit.scoring import align  # noqa: E402

OUT = REPO / "bench" / "out" / "adapt"
RESULTS = REPO / "bench" / "results"
RECIPE = REPO / "egs" / "grid" / "adapt1"
VOICES = REPO / "egs" / "lj_synth" / "asr1" / "conf" / "voices_train.txt"
SYNTH = f"synth_target:data/local/target.txt:{VOICES}"
SYNTH_OPTS = "--plain --assign round-robin --rate-jitter 0.1 --pitch-jitter 0.1"
LM_EXP = "exp/lm_target"
SOURCE = "test"
DECODINGS = {"ctc": "decode", "ctc0": "decode_ctc0"}  # column -> the recipe's decode config (conf/<name>.yaml)
ARMS = ("base", "lm", "tts", "tle", "tle+tts", "tle+tts+lm")
METHODS = ("tts", "tle", "tle+tts")  # `asrkit adapt run --method`


@dataclass(frozen=True)
class Scenario:
    name: str  # bench/out/adapt/<name>, bench/results/adapt_<name>.*
    title: str  # what is held out, for the report
    target: str  # the test set of utterances with what is held out
    slots: tuple  # word positions (GRID's command = 0 ... adverb = 5) of the shifted words in every target sentence
    data_opts: tuple = ()  # run.sh options that hold it out


SCENARIOS = {
    "pairs": Scenario("grid", "held-out command x colour pairs", "test_pairs", (0, 1)),
    "letters": Scenario("grid_letters", "held-out letters n-z", "test_letters", (3,),
                        ("--local_data_opts", "--heldout_letters n-z", "--test_sets", "test_letters test")),
}


def recipe_copy(sc: Scenario, seed: int) -> Path:
    """OUT/<scenario>/seed<N>: egs/grid/adapt1 with every training config's seed set to N (copied once)."""
    recipe = OUT / sc.name / f"seed{seed}"
    if not recipe.exists():
        shutil.copytree(RECIPE, recipe, symlinks=False, ignore=RECIPE_OUTPUTS)
    set_seed(recipe, seed)  # every time: a run killed right after the copy must not train with the recipe's seed
    return recipe


def asr_sh(sc: Scenario, recipe: Path, log_name: str, *args: str):
    """run.sh with the scenario's data options and the synthesized target set named, so every stage sees the same
    list of data sets."""
    run_recipe(recipe, log_name, *sc.data_opts, "--synth_sets", SYNTH, "--synth_opts", SYNTH_OPTS,
               "--adapt_synth_set", "synth_target", *args)


def decode_dir(exp: Path, decoding: str, test_set: str) -> Path:
    return exp / f"decode_{decoding}_valid.acc.ave" / test_set


def decode(sc: Scenario, recipe: Path, exp: Path, decodings: list[str], log_name: str, *args: str):
    """Stages 8-9 for each decode config whose two test sets are not scored yet."""
    for name in decodings:
        if not all((decode_dir(exp, name, s) / "score_wer" / "summary.json").exists() for s in (sc.target, SOURCE)):
            asr_sh(sc, recipe, f"{log_name}_{name}", "--stage", "8", "--stop_stage", "9", "--decode_config",
                   f"conf/{name}.yaml", *args)


def train_lm(recipe: Path, lm_weight: float):
    """The target-text LM and the recipe's decode configs with it fused (conf/<decode>_lm<weight>.yaml)."""
    if not (recipe / LM_EXP / "valid.loss.ave.pth").exists():
        run_logged(recipe, "lm", sys.executable, "-m", "asrkit.cli", "lm", "train", "--plain", "--config",
                   "conf/lm.yaml", "data/local/target.txt", "data/token_list/char", LM_EXP)
    for name in DECODINGS.values():
        text = (recipe / "conf" / f"{name}.yaml").read_text()
        write_file(recipe / "conf" / f"{name}{lm_suffix(lm_weight)}.yaml",
                   f"{text}lm: {LM_EXP}\nlm_weight: {lm_weight}\n")


def lm_suffix(lm_weight: float) -> str:
    """The LM decodings' config and decode-dir suffix: the weight is in the name, so another weight decodes anew."""
    return f"_lm{lm_weight:g}"


def adapted_exp(recipe: Path, method: str) -> Path:
    """bin/asr.sh's name of the adapted exp dir (adapt config conf/adapt.yaml)."""
    return recipe / "exp" / f"asr_train_adapt_{method.replace('+', '_')}_adapt"


def run_seed(sc: Scenario, seed: int, lm_weight: float) -> Path:
    """Every arm of one seed trained and decoded (each step skipped when done)."""
    recipe = recipe_copy(sc, seed)
    (recipe / "logs").mkdir(exist_ok=True)
    base = recipe / "exp" / "asr_train"
    if not (base / "valid.acc.ave.pth").exists():
        asr_sh(sc, recipe, "base", "--stop_stage", "6")
    if not (recipe / "data" / "synth_target" / "feats.scp").exists():
        asr_sh(sc, recipe, "synth", "--stage", "2", "--stop_stage", "4")
    decode(sc, recipe, base, list(DECODINGS.values()), "base", "--adapt_config", "")
    train_lm(recipe, lm_weight)
    decode(sc, recipe, base, [f"{d}{lm_suffix(lm_weight)}" for d in DECODINGS.values()], "lm", "--adapt_config", "")
    for method in METHODS:
        exp = adapted_exp(recipe, method)
        if not (exp / "summary.json").exists():
            start = time.time()
            asr_sh(sc, recipe, f"adapt_{method}", "--stage", "7", "--stop_stage", "7", "--adapt_method", method)
            write_file(exp / "bench_adapt_time.json", json.dumps({"seconds": time.time() - start}) + "\n")
        decodings = list(DECODINGS.values()) + \
            ([f"{d}{lm_suffix(lm_weight)}" for d in DECODINGS.values()] if method == "tle+tts" else [])
        decode(sc, recipe, exp, decodings, f"adapted_{method}", "--adapt_method", method)
    return recipe


def shifted_wer(refs: dict[str, str], hyp_text: Path, slots: tuple) -> float:
    """WER (%) over the shifted words alone, the reference words at `slots`: a word is wrong when it is substituted
    or deleted or an insertion comes just before it (each word counted once), per shifted word."""
    errors = 0
    for alignment in align(refs, read_dict(hyp_text, allow_empty_value=True), "wer"):
        position, wrong = 0, set()  # reference words passed so far; the shifted ones found wrong
        for ref, _, op in alignment.columns:
            if op != "C" and position in slots:
                wrong.add(position)
            position += ref is not None
        errors += len(wrong)
    return round(100 * errors / (len(slots) * len(refs)), 2)


def seed_figures(sc: Scenario, recipe: Path, lm_weight: float) -> dict:
    """WER of every arm x decoding x test set, the target's shifted-word WER, adaptation times, source dev WER before
    and after, the TLE's summary."""
    base = recipe / "exp" / "asr_train"
    lm = lm_suffix(lm_weight)
    where = {"base": (base, ""), "lm": (base, lm), "tle+tts+lm": (adapted_exp(recipe, "tle+tts"), lm),
             **{m: (adapted_exp(recipe, m), "") for m in METHODS}}
    wer = {arm: {col: {s: read_json(decode_dir(exp, f"{name}{lm}", s) / "score_wer" / "summary.json")["wer"]
                       for s in (sc.target, SOURCE)} for col, name in DECODINGS.items()}
           for arm, (exp, lm) in where.items()}
    refs = read_dict(recipe / "data" / sc.target / "text")
    shifted = {arm: {col: shifted_wer(refs, decode_dir(exp, f"{name}{lm}", sc.target) / "text", sc.slots)
                   for col, name in DECODINGS.items()} for arm, (exp, lm) in where.items()}
    times = {m: read_json(adapted_exp(recipe, m) / "bench_adapt_time.json")["seconds"] for m in METHODS}
    summaries = {m: read_json(adapted_exp(recipe, m) / "summary.json") for m in METHODS}
    # the tle arm's stage 7 trains the TLE first (tle+tts reuses it): the rest of that stage is the TLE's
    return {"wer": wer, "shifted_wer": shifted, "adapt_seconds": times,
            "tle_train_seconds": times["tle"] - summaries["tle"]["seconds"],
            "tle_summary": read_json(recipe / "exp" / "tle_train_tle" / "summary.json"), "adapt_summary": summaries}


def table(sc: Scenario, runs: dict) -> list[str]:
    lines = ["| arm | target WER | target WER, CTC 0 | shifted words | shifted words, CTC 0 | source WER "
             "| source WER, CTC 0 | stage 7 (s) | fine-tune (s) |", "|---|---|---|---|---|---|---|---|---|"]
    for arm in ARMS:
        cells = [spread([run["wer"][arm][col][sc.target] for run in runs.values()]) for col in DECODINGS]
        cells += [spread([run["shifted_wer"][arm][col] for run in runs.values()]) for col in DECODINGS]
        cells += [spread([run["wer"][arm][col][SOURCE] for run in runs.values()]) for col in DECODINGS]
        method = arm.removesuffix("+lm")
        if method in METHODS:
            times = [spread([run["adapt_seconds"][method] for run in runs.values()], 0),
                     spread([run["adapt_summary"][method]["seconds"] for run in runs.values()], 0)]
        else:
            times = ["—", "—"]
        lines.append(f"| {arm} | " + " | ".join(cells + times) + " |")
    return lines


def plot(sc: Scenario, runs: dict, path: Path):
    """Target WER by arm, mean over seeds with the range as error bars, both decodings side by side."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    for i, (col, label) in enumerate((("ctc", "CTC weight of conf/decode.yaml"), ("ctc0", "CTC weight 0"))):
        values = [[run["wer"][arm][col][sc.target] for run in runs.values()] for arm in ARMS]
        means = [sum(v) / len(v) for v in values]
        errors = [[m - min(v) for m, v in zip(means, values)], [max(v) - m for m, v in zip(means, values)]]
        ax.bar([x + 0.4 * i for x in range(len(ARMS))], means, 0.4, yerr=errors, capsize=3, label=label)
    ax.set_xticks([x + 0.2 for x in range(len(ARMS))], ARMS)
    ax.set_ylabel(f"{sc.target} WER (%)")
    ax.set_title(f"GRID s1, {sc.title}: {len(runs)} seed(s)")
    ax.legend()
    fig.tight_layout()
    with open(path.with_suffix(".tmp.png"), "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    os.replace(path.with_suffix(".tmp.png"), path)


def write_report(sc: Scenario, runs: dict, args):
    command = f"bench/adapt.py --scenario {args.scenario} --seeds {' '.join(map(str, args.seeds))}" + \
        (f" --lm-weight {args.lm_weight}" if args.lm_weight != 0.3 else "")
    tle = [run["tle_summary"] for run in runs.values()]
    stem = RESULTS / f"adapt_{sc.name}"
    lines = [f"# Text-only adaptation on GRID s1 (egs/grid/adapt1): {sc.title}", "",
             f"`{command}`, {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, {os.cpu_count()} cores. "
             f"Seeds: {', '.join(map(str, args.seeds))}; WER % mean [min, max] over seeds. Target = `{sc.target}` "
             f"({sc.title}), source = `{SOURCE}`; shifted words = the target's errors on its word(s) at position(s) "
             f"{', '.join(str(i + 1) for i in sc.slots)} of 6, the held-out ones, per such word. LM weight "
             f"{args.lm_weight}. Stage 7 = its wall time (caching the encoder outputs, training the TLE in the tle "
             "arm, fine-tuning, the dev WER before and after); fine-tune = the decoder's training alone. The TLE "
             f"(trained once, reused by tle+tts): {spread([run['tle_train_seconds'] for run in runs.values()], 0)} s.",
             "", *table(sc, runs), "", f"![target WER by method]({stem.name}.png)", "",
             "TLE summary per seed (`exp/tle_train_tle/summary.json`):", "",
             *[f"- seed {s}: `{json.dumps(t)}`" for s, t in zip(args.seeds, tle)], ""]
    write_file(stem.with_suffix(".md"), "\n".join(lines))
    write_file(stem.with_suffix(".json"), json.dumps({"command": command, "runs": runs}, indent=2) + "\n")
    plot(sc, runs, stem.with_suffix(".png"))
    return stem.with_suffix(".md")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=SCENARIOS, default="pairs",
                        help="what the base never hears: command x colour pairs (scenario B) or letters n-z (stress)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds (default 0 1 2)")
    parser.add_argument("--lm-weight", type=float, default=0.3, help="shallow-fusion weight of the target LM")
    args = parser.parse_args()
    sc = SCENARIOS[args.scenario]
    runs = {f"seed{seed}": seed_figures(sc, run_seed(sc, seed, args.lm_weight), args.lm_weight) for seed in args.seeds}
    print(write_report(sc, runs, args).read_text(), flush=True)


if __name__ == "__main__":
    main()
