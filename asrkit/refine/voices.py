"""Stage 2, tts: one voice per speaker of the labelled unlabeled speech: a speaker-conditioned FastSpeech2.

Durations come from the current ASR model's CTC forced alignment of the kept utterances against their labels (its
own pseudo-labels in the pseudo-label arms; asrkit/tts/align.py), so the TTS needs no other aligner.
STAGE/
    config.yaml   the refine config's TTS YAML with `speakers: true`
    align/        `asrkit tts align` output: durations and the aligner's token dir; an utterance whose label CTC
                  cannot fit in its encoder frames (a true label of a very short clip) is left out
    data/         the kept data dir without those utterances: what the TTS trains on
    exp/          the TTS exp dir (asrkit tts train; resumes from its checkpoint.pth when re-run)
"""

from pathlib import Path

import yaml

from asrkit.data.datadir import read_dict, subset_data_dir
from asrkit.fileio import atomic_write


def tts_stage(tts_config: Path, current_exp: Path, kept: Path, stage_dir: Path) -> Path:
    """Align, then train (or resume training) the TTS on the kept data dir; returns the TTS exp dir."""
    from asrkit.tts.align import align_data_dir
    from asrkit.tts.model import TTSConfig
    from asrkit.tts.train import train_tts

    config = yaml.safe_load(Path(tts_config).read_text(encoding="utf-8")) or {}
    with atomic_write(stage_dir / "config.yaml") as f:
        yaml.safe_dump({**config, "speakers": True}, f, sort_keys=False)
    tts = TTSConfig.load(stage_dir / "config.yaml")
    if not (stage_dir / "align" / "durations").is_file():
        align_data_dir(kept, current_exp, stage_dir / "align", tts.feature_config, skip_unfit=True,
                       trim_db=tts.align_trim_db)
    aligned = sorted(read_dict(stage_dir / "align" / "durations"))
    data = subset_data_dir(kept, aligned, read_dict(Path(kept) / "text"), stage_dir / "data")
    train_tts(data, stage_dir / "exp", stage_dir / "config.yaml", stage_dir / "align", resume=True)
    return stage_dir / "exp"


def speaker_voices(tts_exp: Path) -> dict[str, str]:
    """`model:TTS@SPEAKER` voice spec -> speaker, for every speaker the TTS learnt."""
    from asrkit.tts.model import read_spk2sid

    return {f"model:{Path(tts_exp).resolve()}@{speaker}": speaker for speaker in read_spk2sid(tts_exp)}
