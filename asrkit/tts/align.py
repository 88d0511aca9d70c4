"""CTC forced alignment with a trained asrkit model: per-token durations in TTS frames, for FastSpeech2.

The TTS token sequence of a transcript is its characters (the aligner's char token list, `<space>` between words)
between two `<space>` tokens that stand for the leading and trailing silence. torchaudio's forced_align gives each
character a span of encoder frames; the blank frames between two characters are split at their midpoint, blanks before
the first character go to the leading silence and blanks after the last to the trailing one. The boundaries are then
scaled from encoder frames (40 ms after conv2d subsampling) to TTS frames and rounded cumulatively, so the durations
of an utterance sum exactly to its mel frame count.

OUT/durations holds `uttid d1 d2 ...` (one duration per TTS token); OUT is also a token dir (tokens.txt, token_type),
the aligner's, which the TTS model takes over as its input vocabulary.
"""

import logging
from pathlib import Path

import numpy as np
import torch

from asrkit.asr.recognize import ctc_spans
from asrkit.data.audio import iter_utterance_audio
from asrkit.data.datadir import DataDirError, load_data_dir, read_dict, write_table
from asrkit.data.features import fbank
from asrkit.data.tokens import SPACE, Tokenizer, copy_token_dir
from asrkit.errors import AsrkitError
from asrkit.progress import progress_bar
from asrkit.tts.features import TTSFeatureConfig

log = logging.getLogger("asrkit.tts.align")


def tts_token_ids(tokenizer: Tokenizer, text: str) -> list[int]:
    """The token ids a TTS model reads for `text`: silence, the characters, silence."""
    space = tokenizer.token_to_id[SPACE]
    return [space, *tokenizer.encode(text), space]


def durations_from_spans(spans: list[tuple[int, int]], num_enc_frames: int, num_frames: int) -> list[int]:
    """Durations in TTS frames of [leading silence, tokens..., trailing silence], summing to num_frames."""
    inner = [(end + next_start) / 2 for (_, end), (next_start, _) in zip(spans[:-1], spans[1:])]
    edges = [0.0, spans[0][0], *inner, spans[-1][1], num_enc_frames] if spans else [0.0, num_enc_frames]
    boundaries = np.rint(np.array(edges) * num_frames / num_enc_frames).astype(int)
    return np.diff(boundaries).tolist()


@torch.no_grad()
def align_data_dir(data_dir: Path, asr_exp: Path, out_dir: Path, tts_config: TTSFeatureConfig,
                   model_file: str = "valid.acc.ave.pth", skip_unfit: bool = False) -> Path:
    """Align every utterance of data_dir with the CTC model of asr_exp; writes OUT/durations and OUT's token dir.

    An utterance whose tokens CTC cannot fit in its encoder frames is an error naming it, or with skip_unfit left
    out of OUT/durations (a warning counts them)."""
    from asrkit.asr.recognize import ctc_can_emit
    from asrkit.expdir import fbank_config, load_asr

    model, tokenizer = load_asr(Path(asr_exp), model_file)
    if SPACE not in tokenizer.token_to_id or tokenizer.words or tokenizer.sp is not None:
        raise AsrkitError(f"{asr_exp}: the aligner needs a char token list with {SPACE}")
    features = fbank_config(asr_exp)
    data = load_data_dir(data_dir)
    text = read_dict(Path(data_dir) / "text")
    durations, skipped = {}, []
    audio = iter_utterance_audio(data, features.fs)
    for utt, samples in progress_bar(audio, total=len(data.utt_ids), description="align"):
        feats = torch.from_numpy(fbank(samples, features)).unsqueeze(0)
        enc, enc_lens = model.encode(feats, torch.tensor([feats.size(1)]))
        log_probs = model.ctc.log_softmax(enc)[0, : enc_lens[0]]
        targets = tokenizer.encode(text[utt])
        if skip_unfit and not ctc_can_emit(targets, log_probs.size(0)):
            skipped.append(utt)
            continue
        if len(targets) > log_probs.size(0):
            raise DataDirError(f"utterance '{utt}': {len(targets)} tokens do not fit in {log_probs.size(0)} encoder frames")
        num_samples = round(len(samples) * tts_config.fs / features.fs)
        spans = [(span.start, span.end) for span in ctc_spans(log_probs, targets)]
        durations[utt] = durations_from_spans(spans, log_probs.size(0), tts_config.num_frames(num_samples))
    if skipped:
        log.warning(f"align: {len(skipped)} utterance(s) do not fit in their encoder frames and are left out, "
                    f"e.g. '{skipped[0]}'")
    out_dir = Path(out_dir)
    write_table(out_dir / "durations", {utt: " ".join(map(str, d)) for utt, d in durations.items()})
    copy_token_dir(asr_exp, out_dir)
    return out_dir / "durations"


def read_durations(path: Path) -> dict[str, list[int]]:
    """OUT/durations as written by align_data_dir; a malformed line is an error naming file and line."""
    durations = {}
    for line_no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        utt, *values = line.split()
        try:
            durations[utt] = [int(v) for v in values]
        except ValueError:
            raise DataDirError(f"{path}:{line_no}: durations must be integers") from None
    return durations
