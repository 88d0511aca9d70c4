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
    tts_s1       with --s1-voice: as tts, the target text spoken by an s1 FastSpeech2 voice made from the source
                 utterances alone (the recipe's local/s1_voice.sh: the base aligns, ../tts1's FastSpeech2 config)
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
S1_VOICES = "exp/tts_s1/voices.txt"  # written last by local/s1_voice.sh
S1_SYNTH = f"synth_s1:data/local/target.txt:{S1_VOICES}"
S1_VOICE_TIME = "exp/tts_s1/bench_voice_time.json"  # alignment and FastSpeech2 training of the s1 voice
ARMS = ("base", "lm", "tts", "tts_s1", "tle", "tle+tts", "tle+tts+lm")
ADAPT_CONFIG = "adapt"  # conf/adapt.yaml, every arm
# adapted arm -> (`asrkit adapt run --method`, its synthesized set: bin/asr.sh names the exp dir by both)
ADAPTED = {"tts": ("tts", "synth_target"), "tts_s1": ("tts", "synth_s1"), "tle": ("tle", None),
           "tle+tts": ("tle+tts", "synth_target")}


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
    """OUT/<scenario>/seed<N>: egs/grid/adapt1 with every training config's seed set to N; its scripts and configs
    are copied anew every run (a fixed recipe reaches a resumed bench), its data and exp dirs are kept."""
    recipe = OUT / sc.name / f"seed{seed}"
    shutil.copytree(RECIPE, recipe, symlinks=False, ignore=RECIPE_OUTPUTS, dirs_exist_ok=True)
    set_seed(recipe, seed)  # every time: a run killed right after the copy must not train with the recipe's seed
    return recipe


def asr_sh(sc: Scenario, recipe: Path, log_name: str, *args: str):
    """run.sh with the scenario's data options and the synthesized target sets named (the s1 voice's once it
    exists), so every stage sees the same list of data sets."""
    synth = f"{SYNTH} {S1_SYNTH}" if (recipe / S1_VOICES).exists() else SYNTH
    run_recipe(recipe, log_name, *sc.data_opts, "--synth_sets", synth, "--synth_opts", SYNTH_OPTS, *args)


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


def adapted_exp(recipe: Path, arm: str) -> Path:
    """bin/asr.sh's name of an adapted arm's exp dir: method, the synthesized set where the method hears one, config."""
    method, synth_set = ADAPTED[arm]
    speech = f"_{synth_set}" if method.endswith("tts") else ""
    return recipe / "exp" / f"asr_train_adapt_{method.replace('+', '_')}{speech}_{ADAPT_CONFIG}"


def adapt_args(arm: str) -> list[str]:
    """run.sh options that select an adapted arm (stage 7, and stages 8-9 on its exp dir)."""
    method, synth_set = ADAPTED[arm]
    return ["--adapt_method", method, "--adapt_synth_set", synth_set or "", "--adapt_config",
            f"conf/{ADAPT_CONFIG}.yaml"]


def s1_voice(sc: Scenario, recipe: Path):
    """The s1 FastSpeech2 voice of the tts_s1 arm (local/s1_voice.sh) and the target text spoken by it."""
    if not (recipe / S1_VOICES).exists():
        start = time.time()
        run_logged(recipe, "s1_voice", "local/s1_voice.sh")
        write_file(recipe / S1_VOICE_TIME, json.dumps({"seconds": time.time() - start}) + "\n")
    if not (recipe / "data" / "synth_s1" / "feats.scp").exists():
        asr_sh(sc, recipe, "synth_s1", "--stage", "2", "--stop_stage", "4")


def run_seed(sc: Scenario, seed: int, lm_weight: float, arms: list[str]) -> Path:
    """Every arm of one seed trained and decoded (each step skipped when done)."""
    recipe = recipe_copy(sc, seed)
    (recipe / "logs").mkdir(exist_ok=True)
    base = recipe / "exp" / "asr_train"
    if not (base / "valid.acc.ave.pth").exists():
        asr_sh(sc, recipe, "base", "--stop_stage", "6")
    if not (recipe / "data" / "synth_target" / "feats.scp").exists():
        asr_sh(sc, recipe, "synth", "--stage", "2", "--stop_stage", "4")
    if "tts_s1" in arms:
        s1_voice(sc, recipe)
    decode(sc, recipe, base, list(DECODINGS.values()), "base", "--adapt_config", "")
    train_lm(recipe, lm_weight)
    decode(sc, recipe, base, [f"{d}{lm_suffix(lm_weight)}" for d in DECODINGS.values()], "lm", "--adapt_config", "")
    for arm in (a for a in ADAPTED if a in arms):
        exp = adapted_exp(recipe, arm)
        if not (exp / "summary.json").exists():
            start = time.time()
            asr_sh(sc, recipe, f"adapt_{arm}", "--stage", "7", "--stop_stage", "7", *adapt_args(arm))
            write_file(exp / "bench_adapt_time.json", json.dumps({"seconds": time.time() - start}) + "\n")
        decodings = list(DECODINGS.values()) + \
            ([f"{d}{lm_suffix(lm_weight)}" for d in DECODINGS.values()] if arm == "tle+tts" else [])
        decode(sc, recipe, exp, decodings, f"adapted_{arm}", *adapt_args(arm))
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


def seed_figures(sc: Scenario, recipe: Path, lm_weight: float, arms: list[str]) -> dict:
    """WER of every arm x decoding x test set, the target's shifted-word WER, adaptation times, source dev WER before
    and after, the TLE's summary."""
    base = recipe / "exp" / "asr_train"
    lm = lm_suffix(lm_weight)
    adapted = [arm for arm in ADAPTED if arm in arms]
    where = {"base": (base, ""), "lm": (base, lm), "tle+tts+lm": (adapted_exp(recipe, "tle+tts"), lm),
             **{arm: (adapted_exp(recipe, arm), "") for arm in adapted}}
    wer = {arm: {col: {s: read_json(decode_dir(exp, f"{name}{lm}", s) / "score_wer" / "summary.json")["wer"]
                       for s in (sc.target, SOURCE)} for col, name in DECODINGS.items()}
           for arm, (exp, lm) in where.items()}
    refs = read_dict(recipe / "data" / sc.target / "text")
    shifted = {arm: {col: shifted_wer(refs, decode_dir(exp, f"{name}{lm}", sc.target) / "text", sc.slots)
                   for col, name in DECODINGS.items()} for arm, (exp, lm) in where.items()}
    times = {arm: read_json(adapted_exp(recipe, arm) / "bench_adapt_time.json")["seconds"] for arm in adapted}
    summaries = {arm: read_json(adapted_exp(recipe, arm) / "summary.json") for arm in adapted}
    # the tle arm's stage 7 trains the TLE first (tle+tts reuses it): the rest of that stage is the TLE's
    return {"wer": wer, "shifted_wer": shifted, "adapt_seconds": times,
            "tle_train_seconds": times["tle"] - summaries["tle"]["seconds"],
            **({"s1_voice_seconds": read_json(recipe / S1_VOICE_TIME)["seconds"]} if "tts_s1" in arms else {}),
            "tle_summary": read_json(recipe / "exp" / "tle_train_tle" / "summary.json"), "adapt_summary": summaries}


def table(sc: Scenario, runs: dict, arms: list[str]) -> list[str]:
    lines = ["| arm | target WER | target WER, CTC 0 | shifted words | shifted words, CTC 0 | source WER "
             "| source WER, CTC 0 | stage 7 (s) | fine-tune (s) |", "|---|---|---|---|---|---|---|---|---|"]
    for arm in arms:
        cells = [spread([run["wer"][arm][col][sc.target] for run in runs.values()]) for col in DECODINGS]
        cells += [spread([run["shifted_wer"][arm][col] for run in runs.values()]) for col in DECODINGS]
        cells += [spread([run["wer"][arm][col][SOURCE] for run in runs.values()]) for col in DECODINGS]
        adapted = arm.removesuffix("+lm")
        if adapted in ADAPTED:
            times = [spread([run["adapt_seconds"][adapted] for run in runs.values()], 0),
                     spread([run["adapt_summary"][adapted]["seconds"] for run in runs.values()], 0)]
        else:
            times = ["—", "—"]
        lines.append(f"| {arm} | " + " | ".join(cells + times) + " |")
    return lines


def plot(sc: Scenario, runs: dict, arms: list[str], path: Path):
    """Target WER by arm, mean over seeds with the range as error bars, both decodings side by side."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    for i, (col, label) in enumerate((("ctc", "CTC weight of conf/decode.yaml"), ("ctc0", "CTC weight 0"))):
        values = [[run["wer"][arm][col][sc.target] for run in runs.values()] for arm in arms]
        means = [sum(v) / len(v) for v in values]
        errors = [[m - min(v) for m, v in zip(means, values)], [max(v) - m for m, v in zip(means, values)]]
        ax.bar([x + 0.4 * i for x in range(len(arms))], means, 0.4, yerr=errors, capsize=3, label=label)
    ax.set_xticks([x + 0.2 for x in range(len(arms))], arms)
    ax.set_ylabel(f"{sc.target} WER (%)")
    ax.set_title(f"GRID s1, {sc.title}: {len(runs)} seed(s)")
    ax.legend()
    fig.tight_layout()
    with open(path.with_suffix(".tmp.png"), "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    os.replace(path.with_suffix(".tmp.png"), path)


def write_report(sc: Scenario, runs: dict, arms: list[str], args):
    command = f"bench/adapt.py --scenario {args.scenario} --seeds {' '.join(map(str, args.seeds))}" + \
        (f" --lm-weight {args.lm_weight}" if args.lm_weight != 0.3 else "") + (" --s1-voice" if args.s1_voice else "")
    tle = [run["tle_summary"] for run in runs.values()]
    stem = RESULTS / f"adapt_{sc.name}"
    lines = [f"# Text-only adaptation on GRID s1 (egs/grid/adapt1): {sc.title}", "",
             f"`{command}`, {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, {os.cpu_count()} cores. "
             f"Seeds: {', '.join(map(str, args.seeds))}; WER % mean [min, max] over seeds. Target = `{sc.target}` "
             f"({sc.title}), source = `{SOURCE}`; shifted words = the target's errors on its word(s) at position(s) "
             f"{', '.join(str(i + 1) for i in sc.slots)} of 6, the held-out ones, per such word. LM weight "
             f"{args.lm_weight}. Stage 7 = its wall time (caching the encoder outputs, training the TLE in the tle "
             "arm, fine-tuning, the dev WER before and after); fine-tune = the decoder's training alone. The TLE "
             f"(trained once, reused by tle+tts): {spread([run['tle_train_seconds'] for run in runs.values()], 0)} s."
             + (f" The s1 voice of tts_s1 (alignment and FastSpeech2 training, before stage 7): "
                f"{spread([run['s1_voice_seconds'] for run in runs.values()], 0)} s." if "tts_s1" in arms else ""),
             "", *table(sc, runs, arms), "", f"![target WER by method]({stem.name}.png)", "",
             "TLE summary per seed (`exp/tle_train_tle/summary.json`):", "",
             *[f"- seed {s}: `{json.dumps(t)}`" for s, t in zip(args.seeds, tle)], ""]
    write_file(stem.with_suffix(".md"), "\n".join(lines))
    write_file(stem.with_suffix(".json"), json.dumps({"command": command, "runs": runs}, indent=2) + "\n")
    plot(sc, runs, arms, stem.with_suffix(".png"))
    return stem.with_suffix(".md")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=SCENARIOS, default="pairs",
                        help="what the base never hears: command x colour pairs (scenario B) or letters n-z (stress)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds (default 0 1 2)")
    parser.add_argument("--lm-weight", type=float, default=0.3, help="shallow-fusion weight of the target LM")
    parser.add_argument("--s1-voice", action="store_true",
                        help="add the tts_s1 arm: an s1 FastSpeech2 voice from the source utterances (~25 min a seed)")
    args = parser.parse_args()
    sc = SCENARIOS[args.scenario]
    arms = [arm for arm in ARMS if arm != "tts_s1" or args.s1_voice]
    runs = {f"seed{seed}": seed_figures(sc, run_seed(sc, seed, args.lm_weight, arms), args.lm_weight, arms)
            for seed in args.seeds}
    print(write_report(sc, runs, arms, args).read_text(), flush=True)


if __name__ == "__main__":
    main()
