"""`asrkit refine run`: the rounds, each stage resumable in its own dir.

OUT/round{r}/{labels,tts,synth,finetune,summary}/ hold the stages of round r (their modules say what each holds).
A stage that finished has STAGE/done.json (`output`: the path it produced, `seconds`: its wall time), written last:
a re-run skips it and reuses its output, so a round killed mid-way resumes at the stage it was in (the TTS and ASR
trainers resume from their checkpoints) and keeps the labels it had. OUT/config.json holds the config OUT was made
with (and the TTS and decoding YAMLs it names): a re-run with other values is refused, since it would reuse stages
made under the old ones; only `rounds` may change (raising it adds rounds). Round r starts from round r-1's
fine-tuned model (round 1 from seed_exp). Arms without synthetic data skip tts and synth; arms without real speech
leave it out of the mix.
"""

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from asrkit.config import changed_values
from asrkit.errors import ConfigError
from asrkit.fileio import atomic_write
from asrkit.refine.config import RefineConfig

log = logging.getLogger("asrkit.refine")
DONE = "done.json"
SNAPSHOT = "config.json"


def run_stage(stage_dir: Path, work: Callable[[Path], Path], seconds: dict[str, float]) -> Path:
    """work(stage_dir) unless the stage is done; its output path, and its wall time recorded in `seconds`."""
    done = stage_dir / DONE
    if done.is_file():
        record = json.loads(done.read_text(encoding="utf-8"))
        log.info(f"{stage_dir}: done earlier, reused")
    else:
        stage_dir.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        record = {"output": str(work(stage_dir)), "seconds": round(time.monotonic() - start, 1)}
        with atomic_write(done) as f:
            json.dump(record, f)
    seconds[stage_dir.name] = record["seconds"]
    return Path(record["output"])


def run_round(config: RefineConfig, current: Path, round_dir: Path) -> Path:
    """One round from the model `current`; returns the fine-tuned exp dir."""
    from asrkit.refine.finetune import finetune_stage
    from asrkit.refine.labels import label_stage
    from asrkit.refine.summary import summary_stage
    from asrkit.refine.synthetic import synth_stage
    from asrkit.refine.voices import tts_stage

    seconds: dict[str, float] = {}
    kept = run_stage(round_dir / "labels", lambda d: label_stage(config, current, d), seconds)
    parts = [kept] if config.real else []
    if config.synthetic:
        tts = run_stage(round_dir / "tts", lambda d: tts_stage(Path(config.tts_config), current, kept, d), seconds)
        parts.append(run_stage(round_dir / "synth", lambda d: synth_stage(config, current, tts, d), seconds))
    model = run_stage(round_dir / "finetune", lambda d: finetune_stage(config, current, parts, d), seconds)
    run_stage(round_dir / "summary", lambda d: summary_stage(config, round_dir, model, dict(seconds), d), {})
    return model


def run_refine(config_file: Path, out_dir: Path) -> Path:
    """Every round of the config; returns OUT/summary.tsv."""
    config = RefineConfig.load(config_file)
    check_same_config(config, Path(config_file), Path(out_dir))
    current = Path(config.seed_exp)
    for r in range(1, config.rounds + 1):
        current = run_round(config, current, Path(out_dir) / f"round{r}")
    return Path(out_dir) / "summary.tsv"


def check_same_config(config: RefineConfig, config_file: Path, out_dir: Path):
    """Refuse to resume OUT under values other than those it was made with (module docstring); record them first.
    The TTS and decoding YAMLs it names are recorded resolved (every option, defaults included); options absent from
    the record (added to asrkit since) are not compared."""
    from asrkit.asr.decoding import load_decode_config
    from asrkit.tts.model import TTSConfig

    values = asdict(config)
    if config.synthetic:
        values["tts_config_values"] = asdict(TTSConfig.load(config.tts_config))
    if config.decode_config:
        values["decode_config_values"] = asdict(load_decode_config(config.decode_config))
    values = json.loads(json.dumps(values))  # tuples and lists compare alike once both went through JSON
    snapshot = out_dir / SNAPSHOT
    if snapshot.is_file():
        changed = changed_values(json.loads(snapshot.read_text(encoding="utf-8")), values, may_change=("rounds",),
                                 sections=("tts_config_values", "decode_config_values"))
        if changed:
            raise ConfigError(f"{config_file}: {out_dir} was made with other values of {', '.join(changed)} "
                              f"({snapshot}); give another --out-dir or remove it")
    with atomic_write(snapshot) as f:
        json.dump(values, f, indent=1)
