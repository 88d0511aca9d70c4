#!/usr/bin/env python3
"""DeCRED against the same model without its heads, on one recipe over seeds: WER in and out of domain, the decoder's
internal-LM perplexity, and a paired bootstrap of every DeCRED decoding against the baseline.

    nice -n 10 .venv/bin/python bench/decred.py tts_digits --seeds 0 1 2

Per seed, two systems train from the recipe's training config (--config) with the same size, batches and epochs:
`decred` (the config as it is: in the recipes a head at layer D-2, decoder loss 0.3 head + 0.7 final) and `baseline`
(`decred.layers: []`, `weights: []`, `final_weight: 1.0`: no head, the final layer's loss alone). The baseline decodes
with `decred_logits: final`, DeCRED with final, mean and weighted (the recipe's decode config otherwise). Every test set
of the recipe's SPECS entry is decoded and scored; `asrkit ilm-ppl` scores each set's text (in and out of domain); each
DeCRED decoding is compared with the baseline's on the same seed and set (`asrkit compare`'s paired bootstrap).

Files (<name>: the recipe, then _refheads with --heads reference, then _smoke for a smoke run):
    bench/out/decred/<name>/                   the recipe copy: data stages 1-5 once, then exp/asr_<system>_seed<N>/
    bench/results/decred_<name>/               the generated training configs (<system>_seed<N>.yaml) and decode
                                               configs (final.yaml, mean.yaml, weighted.yaml)
    bench/results/decred_<name>.md, .json      the table (mean [min, max] over seeds) and every per-seed figure
Resumable: the data stages, each training (valid.acc.ave.pth), decoding (score_wer/summary.json) and ILM
(ilm_ppl/<set>/summary.json) are skipped when their output exists; a stopped training resumes (asr.sh --resume); a
trained exp dir whose generated config changed since is an error (remove it to retrain), never silently reused.
--heads reference gives the DeCRED system the reference's heads (pre-norm input, no bias) under the name
<recipe>_refheads (its own recipe copy, configs and results), against the same baseline config.
--systems baseline (or decred) trains and decodes that system alone, so that two one-thread processes
(OMP_NUM_THREADS=1) can share the cores once the data stages are done (a single-system run refuses to make them);
the report then comes from a run with both, started after they finished (it reuses their trainings and decodings; one
started earlier would train the same exp dir beside them).
--max-epoch (and --data-opts, smaller data) make a smoke run, kept apart under the names <recipe>_smoke (its results
say so); the full comparison runs without them on a quiet machine.
"""

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's asrkit, whatever the venv's editable install points at

from asrkit.scoring import compare_decode_dirs  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from recipes import RECIPE_OUTPUTS, read_json, run_logged, run_recipe, spread, write_file  # noqa: E402

OUT = REPO / "bench" / "out" / "decred"
RESULTS = REPO / "bench" / "results"
IN, TEXT, ACOUSTIC = "in domain", "text shift", "acoustic shift"
MODES = ("final", "mean", "weighted")  # DeCRED decodings (asrkit/asr/decred.py); the baseline has `final` only
DECODE_MODEL = "valid.acc.ave.pth"
DATA_DONE = ".bench_decred_data.json"  # in the recipe copy: the data stages finished; their options and test sets
REFERENCE_HEADS = {"head_input": "pre_norm", "head_bias": False}  # --heads reference (asrkit/asr/decred.py)
TRAINED_WITH = "bench_decred.yaml"  # in an exp dir: the generated config it was trained with (a rerun checks it)


@dataclasses.dataclass
class Spec:
    sets: dict[str, str]  # test set -> IN, TEXT or ACOUSTIC; a set the data stage did not make is left out
    data_opts: str = ""  # the recipe's local/data.sh options that make its out-of-domain sets (no quoted spaces)


SPECS = {
    "tts_digits": Spec({"test_heldout": IN, "test_long": TEXT, "test_fsdd": ACOUSTIC}, "--n_test_long 100"),
    "lj_synth": Spec({"test_heldout": IN, "test_grid": TEXT, "test_digits": TEXT}, "--n_test_digits 100"),
    "grid": Spec({"test": IN, "test_pairs": TEXT}, "--heldout_pairs bin:blue,lay:green,place:red,set:white"),
    "fsdd": Spec({"test": IN, "test_unseen": ACOUSTIC}),
    "yesno": Spec({"test_yesno": IN}),  # no shift: the quickest end-to-end check of this script
}


def recipe_digest(corpus: str) -> str:
    """What the data stages read from the recipe (local/ and conf/ but the training and decoding configs, links
    followed): a changed voice list or data script makes the data stale; a changed train.yaml does not."""
    source, digest = REPO / "egs" / corpus / "asr1", hashlib.sha256()
    for path in sorted(p for folder in ("conf", "local") for p in (source / folder).rglob("*") if p.is_file()):
        if path.parent.name == "conf" and path.name.startswith(("train", "decode", "lm")):
            continue
        digest.update(f"{path.relative_to(source)}\0".encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def prepare_data(corpus: str, name: str, spec: Spec, extra_opts: str) -> tuple[Path, list[str]]:
    """The recipe copy OUT/<name> with its data stages (1-5) done once for all seeds and systems; its test sets."""
    recipe, data_opts, digest = OUT / name, f"{spec.data_opts} {extra_opts}".strip(), recipe_digest(corpus)
    done = recipe / DATA_DONE
    if done.exists():
        record = read_json(done)
        made_with = record.get("recipe", "not recorded (an older marker)")
        if (record["data_opts"], made_with) != (data_opts, digest):
            raise SystemExit(f"decred.py: {recipe}/data was made with --local_data_opts '{record['data_opts']}' and "
                             f"recipe files {made_with}, not '{data_opts}' and {digest} (egs/{corpus}/asr1 local/ "
                             f"and conf/ but its training and decoding configs): remove {recipe} to remake it")
        return recipe, record["sets"]
    if not recipe.exists():
        shutil.copytree(REPO / "egs" / corpus / "asr1", recipe, symlinks=False, ignore=RECIPE_OUTPUTS)
    opts = ["--local_data_opts", data_opts] if data_opts else []
    run_recipe(recipe, "data_stage1", "--stage", "1", "--stop_stage", "1", *opts)
    sets = [name for name in spec.sets if (recipe / "data" / name / "text").exists()]
    run_recipe(recipe, "data_stage3-5", "--stage", "3", "--stop_stage", "5", "--test_sets", " ".join(sets))
    write_file(done, json.dumps({"data_opts": data_opts, "recipe": digest, "sets": sets}) + "\n")
    return recipe, sets


def write_configs(name: str, recipe: Path, config: str, seeds: list[int], max_epoch: int | None,
                  heads: str = "recipe") -> Path:
    """Generated training configs (<system>_seed<N>.yaml) and decode configs (<mode>.yaml); their folder. With
    heads="reference" the DeCRED system's heads are the reference's (REFERENCE_HEADS); the baseline has none."""
    conf_dir = RESULTS / f"decred_{name}"
    conf_dir.mkdir(parents=True, exist_ok=True)
    train = yaml.safe_load((recipe / config).read_text())
    if not train.get("model", {}).get("decred", {}).get("layers"):
        raise SystemExit(f"decred.py: {recipe / config} has no DeCRED heads (model.decred.layers): nothing to compare")
    for seed in seeds:
        for system in ("baseline", "decred"):
            conf = json.loads(json.dumps(train))  # a deep copy of plain YAML data
            conf["seed"] = seed
            if max_epoch:
                conf["max_epoch"] = max_epoch
            if system == "baseline":  # a plain decoder: no head, its loss the final layer's alone, at weight 1
                conf["model"]["decred"].update(layers=[], weights=[], final_weight=1.0)
            elif heads == "reference":
                conf["model"]["decred"].update(REFERENCE_HEADS)
            write_if_changed(conf_dir / f"{system}_seed{seed}.yaml", conf)
    decode = yaml.safe_load((recipe / "conf" / "decode.yaml").read_text())
    for mode in MODES:
        write_if_changed(conf_dir / f"{mode}.yaml", {**decode, "decred_logits": mode})
    return conf_dir


def write_if_changed(path: Path, conf: dict):
    """A rerun leaves an identical config (and the training that used it) alone."""
    text = "# generated by bench/decred.py\n" + yaml.safe_dump(conf, sort_keys=False)
    if not path.exists() or path.read_text() != text:
        write_file(path, text)


def train_and_decode(recipe: Path, conf_dir: Path, tag: str, modes: tuple[str, ...], sets: list[str]):
    """exp/asr_<tag>: trained, decoded with each mode on every set, scored; ILM perplexity of every set's text."""
    exp, config = recipe / "exp" / f"asr_{tag}", conf_dir / f"{tag}.yaml"
    train_args = ["--asr_config", str(config), "--asr_tag", tag]
    if not (exp / DECODE_MODEL).exists():
        run_recipe(recipe, f"train_{tag}", "--stage", "6", "--stop_stage", "6", *train_args, "--test_sets", sets[0])
        shutil.copyfile(config, exp / TRAINED_WITH)
    elif not (exp / TRAINED_WITH).exists() or (exp / TRAINED_WITH).read_text() != config.read_text():
        raise SystemExit(f"decred.py: {exp} was trained with another config than {config}: remove {exp} to retrain")
    for mode in modes:
        todo = [s for s in sets if not (decode_dir(exp, mode, s) / "score_wer" / "summary.json").exists()]
        if todo:
            run_recipe(recipe, f"decode_{tag}_{mode}", "--stage", "8", "--stop_stage", "9", *train_args,
                       "--decode_config", str(conf_dir / f"{mode}.yaml"), "--test_sets", " ".join(todo))
    for name in sets:
        if not (exp / "ilm_ppl" / name / "summary.json").exists():
            text = recipe / "data" / name / "text"
            run_logged(recipe, f"ilm_{tag}_{name}", sys.executable, "-m", "asrkit.cli", "ilm-ppl", str(exp), str(text))


def decode_dir(exp: Path, mode: str, test_set: str) -> Path:
    """asr.sh's decode dir for decode config <mode>.yaml: decode_<mode>_<model>/<set>."""
    return exp / f"decode_{mode}_{Path(DECODE_MODEL).stem}" / test_set


def seed_figures(recipe: Path, seed: int, sets: list[str], resamples: int) -> dict:
    """One seed's WER per system and set, ILM perplexities, and each DeCRED decoding against the baseline."""
    exps = {system: recipe / "exp" / f"asr_{system}_seed{seed}" for system in ("baseline", "decred")}
    systems = {"baseline": (exps["baseline"], "final"), **{f"decred_{m}": (exps["decred"], m) for m in MODES}}
    wer = {name: {s: read_json(decode_dir(exp, mode, s) / "score_wer" / "summary.json")["wer"] for s in sets}
           for name, (exp, mode) in systems.items()}
    ilm = {system: {s: {out: ppl["mean"] for out, ppl in ilm_summary(exp, s)["perplexity"].items()} for s in sets}
           for system, exp in exps.items()}
    base = systems["baseline"]
    compare = {m: {s: dataclasses.asdict(compare_decode_dirs(decode_dir(*base, s), decode_dir(exps["decred"], m, s),
                                                             recipe / "data" / s, resamples, seed))
                   for s in sets} for m in MODES}
    return {"wer": wer, "ilm_ppl": ilm, "compare": compare}


def ilm_summary(exp: Path, test_set: str) -> dict:
    """`asrkit ilm-ppl`'s summary of the set's text (its default output dir)."""
    return read_json(exp / "ilm_ppl" / test_set / "summary.json")


def wer_table(runs: dict, spec: Spec, sets: list[str]) -> list[str]:
    names = ["baseline", *(f"decred_{m}" for m in MODES)]
    lines = ["| test set | shift | utts / words | baseline | DeCRED final | DeCRED mean | DeCRED weighted |",
             "|---|---|---|---|---|---|---|"]
    for s in sets:
        size = next(iter(runs.values()))["compare"]["final"][s]
        cells = [spread([run["wer"][n][s] for run in runs.values()]) for n in names]
        lines.append(f"| {s} | {spec.sets[s]} | {size['utterances']} / {size['words']} | " + " | ".join(cells) + " |")
    return lines


def compare_table(runs: dict, spec: Spec, sets: list[str]) -> list[str]:
    """DeCRED - baseline per set and decoding: the difference, per-seed p, how many seeds are significant."""
    lines = ["| test set | shift | DeCRED decoding | WER diff (points) | p per seed | p < 0.05 (better/worse) "
             "| detectable diff (points) |", "|---|---|---|---|---|---|---|"]
    for s in sets:
        for m in MODES:
            results = [run["compare"][m][s] for run in runs.values()]
            better = sum(r["p_value"] < 0.05 and r["diff"] < 0 for r in results)
            worse = sum(r["p_value"] < 0.05 and r["diff"] > 0 for r in results)
            p_values = ", ".join(f"{r['p_value']:.3g}" for r in results)
            lines.append(f"| {s} | {spec.sets[s]} | {m} | {spread([r['diff'] for r in results])} | {p_values} | "
                         f"{better}/{worse} of {len(results)} | {spread([r['detectable'] for r in results])} |")
    return lines


def ilm_table(runs: dict, spec: Spec, sets: list[str]) -> list[str]:
    """Per-utterance ILM perplexity averaged over utterances: the baseline's final layer, DeCRED's final and heads."""
    heads = [out for out in next(iter(runs.values()))["ilm_ppl"]["decred"][sets[0]] if out != "final"]
    lines = ["| text | shift | baseline | DeCRED final layer | " + " | ".join(f"DeCRED {h}" for h in heads) + " |",
             "|---|---|---|---|" + "---|" * len(heads)]
    for s in sets:
        cells = [spread([run["ilm_ppl"]["baseline"][s]["final"] for run in runs.values()])]
        cells += [spread([run["ilm_ppl"]["decred"][s][out] for run in runs.values()]) for out in ["final", *heads]]
        lines.append(f"| {s} | {spec.sets[s]} | " + " | ".join(cells) + " |")
    return lines


def write_report(corpus: str, name: str, spec: Spec, sets: list[str], runs: dict, args, conf_dir: Path):
    """bench/results/decred_<name>.md (the tables) and .json (every per-seed figure)."""
    seeds = ", ".join(str(s) for s in args.seeds)
    smoke = " **Smoke run (see the command); not a result.**" if args.max_epoch or args.data_opts else ""
    command = f"bench/decred.py {corpus} --seeds {' '.join(map(str, args.seeds))}" + \
        (f" --config {args.config}" if args.config != "conf/train.yaml" else "") + \
        (f" --heads {args.heads}" if args.heads != "recipe" else "") + \
        (f" --max-epoch {args.max_epoch}" if args.max_epoch else "") + \
        (f" --data-opts '{args.data_opts}'" if args.data_opts else "")
    heads = ", ".join(f"`{key}: {str(value).lower()}`" for key, value in REFERENCE_HEADS.items())
    lines = [f"# DeCRED vs baseline: egs/{corpus}/asr1", "",
             f"`{command}`, {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, {os.cpu_count()} cores.{smoke}",
             f"Seeds: {seeds}. Baseline = the recipe's {args.config} with `decred.layers: []` and `final_weight: 1.0`, "
             f"DeCRED = it as it is" + (f" but for its heads ({heads}: the reference's)"
                                        if args.heads == "reference" else "") + " "
             f"(same size, batches and epochs; configs in {conf_dir.relative_to(REPO)}/). Paired bootstrap over "
             f"utterances, {args.resamples} resamples (`asrkit compare`); detectable diff = the smallest |diff| that "
             f"would reach p < 0.05 for that pair on that set.", "",
             "## WER (%), mean [min, max] over seeds", "", *wer_table(runs, spec, sets), "",
             "## DeCRED - baseline (WER points; negative: DeCRED better)", "", *compare_table(runs, spec, sets), "",
             "## ILM perplexity (`asrkit ilm-ppl`, mean over utterances)", "", *ilm_table(runs, spec, sets), ""]
    write_file(RESULTS / f"decred_{name}.md", "\n".join(lines))
    report = {"recipe": corpus, "command": command, "seeds": args.seeds, "sets": {s: spec.sets[s] for s in sets},
              "config": args.config, "heads": args.heads, "max_epoch": args.max_epoch, "resamples": args.resamples,
              "runs": runs}
    write_file(RESULTS / f"decred_{name}.json", json.dumps(report, indent=2) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", choices=sorted(SPECS), help="egs/<recipe>/asr1")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds (default 0 1 2)")
    parser.add_argument("--config", default="conf/train.yaml", help="the recipe's training config, with DeCRED heads")
    parser.add_argument("--heads", choices=("recipe", "reference"), default="recipe",
                        help="reference: the DeCRED system's heads read the un-normalised block output and have no "
                        "bias, as the reference's (results: decred_<recipe>_refheads); recipe: as the config says")
    parser.add_argument("--systems", nargs="+", choices=("baseline", "decred"), default=["baseline", "decred"],
                        help="train and decode only these: two processes with OMP_NUM_THREADS=1 share the cores, one "
                        "system each, once the data stages are done; a run with both, after they finished, reuses "
                        "their work and writes the report")
    parser.add_argument("--max-epoch", type=int, help="override max_epoch: a smoke run, not a result")
    parser.add_argument("--data-opts", default="", help="more local/data.sh options, e.g. a smoke run's smaller sizes "
                        "('--n_train 50 --n_test 10' for tts_digits)")
    parser.add_argument("--resamples", type=int, default=10000, help="bootstrap resamples per comparison")
    args = parser.parse_args()
    spec = SPECS[args.recipe]
    # a smoke run keeps its own recipe copy, configs and results: a later full run never finds its short trainings
    name = args.recipe + ("_refheads" if args.heads == "reference" else "")
    name += "_smoke" if args.max_epoch or args.data_opts else ""
    both = set(args.systems) == {"baseline", "decred"}
    if not both and not (OUT / name / DATA_DONE).exists():  # two single-system runs would make the data side by side
        raise SystemExit(f"decred.py: --systems needs the data stages done ({OUT / name / DATA_DONE} is missing): "
                         "start a run without --systems first, the single-system ones once its data stages finished")
    recipe, sets = prepare_data(args.recipe, name, spec, args.data_opts)
    conf_dir = write_configs(name, recipe, args.config, args.seeds, args.max_epoch, args.heads)
    runs = {}
    for seed in args.seeds:
        for system, modes in (("baseline", ("final",)), ("decred", MODES)):
            if system in args.systems:
                train_and_decode(recipe, conf_dir, f"{system}_seed{seed}", modes, sets)
        if both:
            runs[f"seed{seed}"] = seed_figures(recipe, seed, sets, args.resamples)
    if not both:
        print(f"decred.py: {' '.join(args.systems)} done; rerun without --systems for the report", flush=True)
        return
    write_report(args.recipe, name, spec, sets, runs, args, conf_dir)
    print((RESULTS / f"decred_{name}.md").read_text(), flush=True)


if __name__ == "__main__":
    main()
