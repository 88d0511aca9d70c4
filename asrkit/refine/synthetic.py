"""Stage 3, synth: the target text spoken by the trained voices, then curated into a training set.

Each speaker the TTS learnt is one voice (`model:TTS@SPEAKER`), and its synthetic utterances carry that speaker's id,
so the synthetic set's speakers are the unlabeled set's. Curation, in order:
  1. re-recognition: the current model decodes the synthetic speech; an utterance it reads with a WER above
     curate.max_wer is dropped (the TTS garbled it, or the model cannot learn from it yet). The WER over all of it is
     the voices' intelligibility, as `asrkit tts eval` measures it.
  2. concatenation of short utterances (asrkit/refine/concat.py), when curate.concat_below > 0.
  3. perturbation (asrkit/data/perturb.py, seeded by the refine seed): speed copies, volume, noise.
STAGE/
    raw/        the synthesized data dir (audio in raw/audio/<speaker>/; re-running resumes where synthesis stopped)
    decode/     the re-recognition decode dir, with score_wer/ (intelligibility) and score_cer/
    readable/   what re-recognition kept
    concat/     after concatenation (only when it is on)
    data/       the final synthetic data dir, validated
"""

from pathlib import Path

from asrkit.data.datadir import read_dict, subset_data_dir, validate_data_dir
from asrkit.errors import AsrkitError
from asrkit.refine.config import RefineConfig
from asrkit.refine.voices import speaker_voices


def synth_stage(config: RefineConfig, current_exp: Path, tts_exp: Path, stage_dir: Path) -> Path:
    """Synthesize and curate (module docstring); returns the final synthetic data dir."""
    from asrkit.data.perturb import Perturbation, perturb_data_dir
    from asrkit.tts.synth import Jitter, read_texts, synthesize_data_dir

    texts = read_texts(config.target_text, plain=True)
    texts = dict(list(texts.items())[: config.synth.max_texts]) if config.synth.max_texts else texts
    voices = speaker_voices(tts_exp)
    synthesize_data_dir(texts, list(voices), stage_dir / "raw", assign=config.synth.assign, speakers=voices,
                        jitter=Jitter(config.synth.rate_jitter, config.synth.pitch_jitter, config.seed))
    readable = re_recognize(config, current_exp, stage_dir / "raw", stage_dir / "decode", stage_dir / "readable")
    curate = config.curate
    if curate.concat_below > 0:
        from asrkit.refine.concat import concatenate_short

        concatenate_short(readable, stage_dir / "concat", curate.concat_below, curate.concat_count, curate.concat_gap)
        readable = stage_dir / "concat"
    perturbation = Perturbation(tuple(curate.speeds), tuple(curate.volume) if curate.volume else None, curate.noise,
                                curate.snr_db, seed=config.seed)
    perturb_data_dir(readable, stage_dir / "data", perturbation)
    problems = validate_data_dir(stage_dir / "data")
    if problems:
        raise AsrkitError(f"{stage_dir / 'data'}: the synthetic data dir is invalid: {problems[0]}")
    return stage_dir / "data"


def re_recognize(config: RefineConfig, current_exp: Path, raw: Path, decode_dir: Path, out: Path) -> Path:
    """Decode RAW with the current model and write OUT: the utterances read with a WER of at most max_wer."""
    from asrkit.asr.decode_dir import decode_and_score
    from asrkit.scoring import align

    decode_and_score(current_exp, raw, decode_dir, config.decode_config)
    refs, hyps = read_dict(raw / "text"), read_dict(decode_dir / "text", allow_empty_value=True)
    kept = []
    for alignment in align(refs, hyps, "wer"):
        counts = alignment.counts()
        if counts.errors <= config.curate.max_wer * counts.ref_tokens:
            kept.append(alignment.uttid)
    if not kept:
        raise AsrkitError(f"{decode_dir}: the current model reads none of the synthetic speech within WER "
                          f"{config.curate.max_wer:.0%} (see {decode_dir / 'score_wer' / 'result.txt'})")
    return subset_data_dir(raw, sorted(kept), refs, out)
