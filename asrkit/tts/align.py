"""CTC forced alignment with a trained asrkit model: per-token durations in TTS frames, for FastSpeech2.

The TTS token sequence of a transcript is its characters (the aligner's char token list, `<space>` between words)
between two `<space>` tokens that stand for the leading and trailing silence. torchaudio's forced_align gives each
character a span of encoder frames; the blank frames between two characters are split at their midpoint, blanks before
the first character go to the leading silence and blanks after the last to the trailing one. The boundaries are then
scaled from encoder frames (40 ms after conv2d subsampling) to TTS frames and rounded cumulatively, so the durations
of an utterance sum exactly to its mel frame count.

With trim_db > 0 only the speech region (asrkit/data/vad.py speech_region: an energy detector) is aligned, and what
lies outside it is added to the leading and trailing silence. A recognizer trained long on utterances of one fixed
shape (GRID: ~0.55 s of silence, six words, ~0.95 s of silence) learns to emit the words at fixed positions spread
over the whole input, not where they are spoken: its alignment of the whole utterance starts the first word at frame
0 (egs/grid/tts1/README.md, "Word boundaries").

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
from asrkit.data.vad import speech_region
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
                   model_file: str = "valid.acc.ave.pth", skip_unfit: bool = False, trim_db: float = 0.0) -> Path:
    """Align every utterance of data_dir with the CTC model of asr_exp; writes OUT/durations and OUT's token dir.
    trim_db > 0: only each utterance's speech region is aligned (module docstring).

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
    durations, skipped, untrimmed = {}, [], []
    audio = iter_utterance_audio(data, features.fs)
    for utt, samples in progress_bar(audio, total=len(data.utt_ids), description="align"):
        targets = tokenizer.encode(text[utt])
        region = speech_region(samples, features.fs, trim_db) if trim_db > 0 else (0, len(samples))
        log_probs = _ctc_log_probs(model, samples[region[0]:region[1]], features)
        if region != (0, len(samples)) and not ctc_can_emit(targets, log_probs.size(0)):
            region = (0, len(samples))  # a region cut too short for the text: align the whole utterance
            untrimmed.append(utt)
            log_probs = _ctc_log_probs(model, samples, features)
        if not ctc_can_emit(targets, log_probs.size(0)):
            if skip_unfit:
                skipped.append(utt)
                continue
            raise DataDirError(f"utterance '{utt}': {len(targets)} tokens do not fit in {log_probs.size(0)} encoder "
                               f"frames")
        spans = [(span.start, span.end) for span in ctc_spans(log_probs, targets)]
        durations[utt] = _durations(spans, log_probs.size(0), (*region, len(samples)), features.fs, tts_config)
    if untrimmed:
        log.warning(f"align: {len(untrimmed)} speech region(s) too short for their text; those utterances were aligned "
                    f"whole, e.g. '{untrimmed[0]}'")
    if skipped:
        log.warning(f"align: {len(skipped)} utterance(s) do not fit in their encoder frames and are left out, "
                    f"e.g. '{skipped[0]}'")
    out_dir = Path(out_dir)
    write_table(out_dir / "durations", {utt: " ".join(map(str, d)) for utt, d in durations.items()})
    copy_token_dir(asr_exp, out_dir)
    return out_dir / "durations"


def _ctc_log_probs(model, samples: np.ndarray, features) -> torch.Tensor:
    """(encoder frames, vocab) CTC log-probs of one utterance's samples."""
    feats = torch.from_numpy(fbank(samples, features)).unsqueeze(0)
    enc, enc_lens = model.encode(feats, torch.tensor([feats.size(1)]))
    return model.ctc.log_softmax(enc)[0, : enc_lens[0]]


def _durations(spans, num_enc_frames: int, region: tuple[int, int, int], fs: int, tts: TTSFeatureConfig) -> list[int]:
    """durations_from_spans of the aligned region (start, end, utterance length in samples at fs), the frames
    before and after it added to the leading and trailing silence."""
    start, end, length = region
    total = tts.num_frames(round(length * tts.fs / fs))
    lead, stop = round(total * start / length), round(total * end / length)
    inner = durations_from_spans(spans, num_enc_frames, stop - lead)
    inner[0] += lead
    inner[-1] += total - stop
    return inner


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
