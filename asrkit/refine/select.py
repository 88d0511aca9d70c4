"""Which pseudo-labels to keep: a confidence per utterance, then a threshold and/or a top fraction.

Confidences (from a decode dir, asrkit/asr/decode_dir.py):
    ctc      the decode dir's `confidence`: the mean CTC posterior of the 1-best's tokens over their force-aligned
             frames (asrkit/asr/recognize.py), in [0, 1]
    margin   the n-best margin 1 - exp(score_2 - score_1): how much more likely the 1-best is than the 2nd best, by
             the beam search scores, in [0, 1]; 1 when the beam found one hypothesis only (decode with nbest >= 2)
The filter keeps an utterance when its confidence is strictly above `threshold` and its 1-best is not empty (an empty
pseudo-label teaches nothing to a TTS; the labels stage also offers a 1-best CTC cannot emit as empty), then at most
ceil(top_fraction x all utterances) of those, most confident first (ties by utterance id).
"""

import math
from pathlib import Path

from asrkit.data.datadir import read_dict
from asrkit.refine.config import SelectConfig


def confidences(decode_dir: Path, kind: str) -> dict[str, float]:
    """Each decoded utterance's confidence of `kind` (module docstring)."""
    decode_dir = Path(decode_dir)
    if kind == "ctc":
        return {utt: float(value) for utt, value in read_dict(decode_dir / "confidence").items()}
    first = {utt: float(value) for utt, value in read_dict(decode_dir / "score").items()}
    second_file = decode_dir / "2best_recog" / "score"
    second = read_dict(second_file) if second_file.is_file() else {}
    return {utt: 1.0 - math.exp(min(0.0, float(second[utt]) - score)) if utt in second else 1.0
            for utt, score in first.items()}


def select(scores: dict[str, float], hyps: dict[str, str], config: SelectConfig) -> list[str]:
    """The kept utterance ids, sorted (module docstring)."""
    kept = [utt for utt, score in scores.items() if hyps.get(utt, "").strip()
            and (config.threshold is None or score > config.threshold)]
    if config.top_fraction is not None:
        kept = sorted(kept, key=lambda utt: (-scores[utt], utt))[: math.ceil(config.top_fraction * len(scores))]
    return sorted(kept)
