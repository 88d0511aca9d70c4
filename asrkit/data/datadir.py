"""Kaldi data directories: read, write, validate and fix them.

A data dir holds one table per file, one `key value` line per entry, sorted by key in
LC_ALL=C (byte) order, as described at https://kaldi-asr.org/doc/data_prep.html:

    wav.scp     recording -> audio path, or a shell command ending in '|'
    segments    utterance -> recording start end (seconds); absent: utterance = recording
    text        utterance -> transcript
    utt2spk     utterance -> speaker        (spk2utt is its inverse)
    feats.scp, utt2dur, utt2num_samples, utt2num_frames: utterance -> value
    utt2uniq    utterance -> the original it was perturbed from (asrkit/data/perturb.py)
    video.scp   utterance -> video file (audio-visual corpora; asrkit/data/video.py checks it)
    roi.scp, utt2num_roi_frames: utterance -> mouth-ROI features and their frame count (asrkit/avsr/roi.py)
    fbank.yaml  not a table: the fbank config feats.scp was computed with (asrkit/data/features.py)
    roi.yaml    not a table: the ROI config roi.scp was computed with (asrkit/avsr/roi.py)

The checks follow utils/validate_data_dir.sh and the repairs utils/fix_data_dir.sh.
Every problem is reported as `FILE:LINE: problem` so an editor can jump to it.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple

from asrkit.data.audio import SEGMENT_END_TOLERANCE_S, AudioError, is_pipe, read_audio
from asrkit.data.video import utterance_durations, video_problems
from asrkit.errors import AsrkitError
from asrkit.fileio import atomic_write

REQUIRED_FILES = ("wav.scp", "text", "utt2spk", "spk2utt")
UTTERANCE_FILES = ("text", "utt2spk", "feats.scp", "utt2dur", "utt2num_samples", "utt2num_frames", "utt2uniq",
                   "video.scp", "roi.scp", "utt2num_roi_frames")
SPEAKER_FILES = ("spk2gender", "cmvn.scp")
RECORDING_FILES = ("reco2dur", "reco2file_and_channel")
KNOWN_FILES = ("wav.scp", "segments", "spk2utt") + UTTERANCE_FILES + SPEAKER_FILES + RECORDING_FILES
# Not a table: the fbank config feats.scp was computed with (asrkit/data/features.py), written by merge-fbank.
DATA_FBANK_CONFIG = "fbank.yaml"
DATA_ROI_CONFIG = "roi.yaml"  # likewise for roi.scp (asrkit/avsr/roi.py), written by video-roi's merge

# A mismatched file can differ in thousands of ids; the first few locate the cause.
MAX_REPORTED_IDS = 10


class DataDirError(AsrkitError):
    """A data dir file is missing or malformed; the message starts with `FILE:LINE:`."""


class Line(NamedTuple):
    number: int
    key: str
    value: str


# ---------------------------------------------------------------- tables


def read_table(path, allow_empty_value=False) -> list[tuple[str, str]]:
    """Read `key rest-of-line` lines in file order; duplicates are kept."""
    return [(line.key, line.value) for line in _read_lines(path, allow_empty_value)]


def read_dict(path, allow_empty_value=False) -> dict[str, str]:
    """Read a table whose keys must be unique."""
    return {line.key: line.value for line in _read_unique_lines(path, allow_empty_value)}


def write_table(path, items: Mapping[str, str] | Iterable[tuple[str, str]]):
    """Write `key value` lines sorted in C order, atomically."""
    pairs = list(items.items() if isinstance(items, Mapping) else items)
    _check_writable(path, pairs)
    with atomic_write(path) as f:
        # Python orders str by code point, which is exactly the UTF-8 byte (C) order.
        for key, value in sorted(pairs):
            f.write(f"{key} {value}\n" if value else f"{key}\n")


def utt2spk_to_spk2utt(utt2spk: Mapping[str, str]) -> dict[str, list[str]]:
    spk2utt = {}
    for utt in sorted(utt2spk):
        spk2utt.setdefault(utt2spk[utt], []).append(utt)
    return spk2utt


def parse_segment(value: str) -> tuple[str, float, float]:
    """Parse the `recording start end` part of a segments line; ValueError says what is wrong."""
    fields = value.split()
    if len(fields) != 3:
        raise ValueError(f"expected 'recording start end', got '{value}'")
    recording, start_text, end_text = fields
    try:
        start, end = float(start_text), float(end_text)
    except ValueError:
        raise ValueError(f"start and end must be seconds, got '{start_text}' and '{end_text}'") from None
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ValueError(f"start and end must be finite, got '{start_text}' and '{end_text}'")
    if start < 0:
        raise ValueError(f"start time {start_text} is negative")
    if start >= end:
        raise ValueError(f"start time {start_text} is not before end time {end_text}")
    return recording, start, end


def _scan_lines(path) -> tuple[list[Line], list[str]]:
    """Split a table into lines, collecting the lines that have no usable key instead of raising."""
    lines, problems = [], []
    for number, raw in enumerate(_raw_lines(path), start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            problems.append(f"{path}:{number}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})")
            continue
        if not text.strip():
            problems.append(f"{path}:{number}: empty line")
        elif text[0].isspace():
            problems.append(f"{path}:{number}: line starts with whitespace, so it has no key")
        else:
            fields = text.split(None, 1)
            lines.append(Line(number, fields[0], fields[1].strip() if len(fields) == 2 else ""))
    return lines, problems


def _raw_lines(path) -> list[bytes]:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataDirError(f"{path}: missing") from None
    except OSError as e:
        raise DataDirError(f"{path}: cannot read: {e.strerror}") from None
    lines = data.split(b"\n")
    return lines[:-1] if lines[-1] == b"" else lines


def _read_lines(path, allow_empty_value=False) -> list[Line]:
    lines, problems = _scan_lines(path)
    if problems:
        raise DataDirError(problems[0])
    if not allow_empty_value:
        for line in lines:
            if not line.value:
                raise DataDirError(f"{path}:{line.number}: no value after key '{line.key}'")
    return lines


def _read_unique_lines(path, allow_empty_value=False) -> list[Line]:
    lines = _read_lines(path, allow_empty_value)
    first_line = {}
    for line in lines:
        if line.key in first_line:
            raise DataDirError(f"{path}:{line.number}: duplicate key '{line.key}' (first on line {first_line[line.key]})")
        first_line[line.key] = line.number
    return lines


def _check_writable(path, pairs):
    """Refuse entries that would not read back as the same table."""
    seen = set()
    for key, value in pairs:
        if not key or any(char.isspace() for char in key):
            raise DataDirError(f"{path}: key {key!r} must be one non-empty token without whitespace")
        if "\n" in value or "\r" in value:
            raise DataDirError(f"{path}: value for '{key}' contains a line break")
        if key in seen:
            raise DataDirError(f"{path}: duplicate key '{key}'")
        seen.add(key)


# ---------------------------------------------------------------- load and write


@dataclass
class DataDir:
    """A loaded data dir. utt_ids defaults to the sorted ids of segments when there are any,
    else of wav.scp; pass a subset to work on part of the dir."""

    path: Path
    wav_scp: dict[str, str]
    utt2spk: dict[str, str]
    text: dict[str, str] | None = None
    segments: dict[str, tuple[str, float, float]] | None = None
    feats_scp: dict[str, str] | None = None
    utt_ids: list[str] | None = None

    def __post_init__(self):
        if self.utt_ids is None:
            self.utt_ids = sorted(self.segments if self.segments is not None else self.wav_scp)


def load_data_dir(path) -> DataDir:
    """Load a data dir; consistency between its files is validate_data_dir's job."""
    data_dir = Path(path)
    for name in ("wav.scp", "utt2spk"):
        if not (data_dir / name).is_file():
            raise DataDirError(f"{data_dir / name}: missing (every data dir needs it)")
    return DataDir(
        path=data_dir,
        wav_scp=read_dict(data_dir / "wav.scp"),
        utt2spk=read_dict(data_dir / "utt2spk"),
        # An empty transcript loads; validate_data_dir reports it, fix_data_dir drops it.
        text=read_optional(data_dir / "text", allow_empty_value=True),
        segments=_read_segments(data_dir / "segments") if (data_dir / "segments").is_file() else None,
        feats_scp=read_optional(data_dir / "feats.scp"),
    )


def read_optional(path, allow_empty_value=False) -> dict[str, str] | None:
    return read_dict(path, allow_empty_value) if Path(path).is_file() else None


def _read_segments(path) -> dict[str, tuple[str, float, float]]:
    segments = {}
    for line in _read_unique_lines(path):
        try:
            segments[line.key] = parse_segment(line.value)
        except ValueError as e:
            raise DataDirError(f"{path}:{line.number}: segment '{line.key}': {e}") from None
    return segments


def write_data_dir(path, wav_scp, text, utt2spk, segments=None, utt2dur=None, video_scp=None):
    """Write a data dir (with spk2utt derived from utt2spk, video.scp when given); each file sorted and atomic.

    Files of an earlier version of the dir (features, durations, ...) are removed: they would describe other data.
    """
    data_dir = Path(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in (*KNOWN_FILES, DATA_FBANK_CONFIG, DATA_ROI_CONFIG):
        (data_dir / name).unlink(missing_ok=True)
    write_table(data_dir / "wav.scp", wav_scp)
    write_table(data_dir / "text", text)
    write_table(data_dir / "utt2spk", utt2spk)
    write_table(data_dir / "spk2utt", _spk2utt_table(utt2spk))
    if segments is not None:
        write_table(data_dir / "segments", {
            utt: f"{recording} {_seconds(start)} {_seconds(end)}" for utt, (recording, start, end) in segments.items()
        })
    if utt2dur is not None:
        write_table(data_dir / "utt2dur", {utt: _seconds(duration) for utt, duration in utt2dur.items()})
    if video_scp is not None:
        write_table(data_dir / "video.scp", video_scp)


def subset_data_dir(src: Path, utts: list[str], text: dict[str, str], dst: Path) -> Path:
    """DST: the utterances `utts` of data dir SRC with transcripts `text` (SRC/text is never read: a refine stage
    subsets an unlabeled set by its wav.scp, utt2spk and segments)."""
    utt2spk = read_dict(Path(src) / "utt2spk")
    wav_scp = read_dict(Path(src) / "wav.scp")
    segments, keep = None, set(utts)
    if (Path(src) / "segments").is_file():
        segments = {utt: parse_segment(value) for utt, value in read_dict(Path(src) / "segments").items()
                    if utt in keep}
        wav_scp = {rec: wav_scp[rec] for rec in sorted({rec for rec, _, _ in segments.values()})}
    else:
        wav_scp = {utt: wav_scp[utt] for utt in utts}
    write_data_dir(dst, wav_scp, {utt: text[utt] for utt in utts}, {utt: utt2spk[utt] for utt in utts}, segments)
    return Path(dst)


def _spk2utt_table(utt2spk) -> dict[str, str]:
    return {spk: " ".join(utts) for spk, utts in utt2spk_to_spk2utt(utt2spk).items()}


def _seconds(value: float) -> str:
    # Millisecond precision, like Kaldi's two-decimal segments but finer for short units.
    return f"{value:.3f}"


# ---------------------------------------------------------------- validation


def validate_data_dir(path, check_audio=False, fs=None, check_video=False) -> list[str]:
    """List every problem as `FILE:LINE: problem`; [] means the dir is valid.

    check_audio decodes every recording (and checks segment ends against its length);
    fs, with check_audio, also reports recordings whose sample rate is not fs.
    video.scp's files must exist; check_video decodes each and checks its frame count against its audio's duration.
    """
    data_dir = Path(path)
    problems = [f"{data_dir / name}: missing" for name in REQUIRED_FILES if not (data_dir / name).is_file()]
    tables = {}
    for name in KNOWN_FILES:
        if (data_dir / name).is_file():
            tables[name], file_problems = _check_file(data_dir / name)
            problems += file_problems
    problems += _wav_scp_problems(data_dir, tables)
    problems += _segment_recording_problems(data_dir, tables)
    problems += _id_problems(data_dir, tables)
    problems += _speaker_map_problems(data_dir, tables)
    if check_audio and "wav.scp" in tables:
        problems += _audio_problems(data_dir, tables, fs)
    if "video.scp" in tables:
        problems += _video_problems(data_dir, tables, check_video)
    return problems


def _check_file(path) -> tuple[list[Line], list[str]]:
    """Problems within one file: encoding, order, duplicates, values, final newline."""
    lines, problems = _scan_lines(path)
    problems += _order_problems(path, lines)
    check_value = VALUE_CHECKS.get(path.name, _check_not_empty)
    problems += [f"{path}:{line.number}: {why}" for line in lines if (why := check_value(line.key, line.value))]
    return lines, problems + _final_newline_problem(path)


def _final_newline_problem(path) -> list[str]:
    # Kaldi tools read line by line and silently lose an unterminated last line.
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return []
    last_line = data.count(b"\n") + 1
    return [f"{path}:{last_line}: last line does not end with a newline"]


def _order_problems(path, lines: list[Line]) -> list[str]:
    """The first out-of-order line (one is enough to know the file needs sorting) and every duplicate."""
    problems, first_line, previous = [], {}, None
    reported_order = False
    for line in lines:
        if line.key in first_line:
            problems.append(f"{path}:{line.number}: duplicate key '{line.key}' (first on line {first_line[line.key]})")
        elif previous is not None and line.key < previous.key and not reported_order:
            problems.append(
                f"{path}:{line.number}: not sorted: '{line.key}' comes after '{previous.key}' "
                f"(line {previous.number}); sort with LC_ALL=C"
            )
            reported_order = True
        first_line.setdefault(line.key, line.number)
        previous = line
    return problems


def _check_not_empty(key, value):
    if not value:
        return f"no value after key '{key}'"


def _check_transcript(utt, transcript):
    if not transcript:
        return f"empty transcript for utterance '{utt}'"


def _check_speaker_utterances(speaker, utts):
    if not utts:
        return f"speaker '{speaker}' has no utterances"


def _check_speaker(utt, speaker):
    if not speaker:
        return f"no speaker for utterance '{utt}'"
    if len(speaker.split()) != 1:
        return f"expected one speaker id for utterance '{utt}', got '{speaker}'"


def _check_segment(utt, value):
    try:
        parse_segment(value)
    except ValueError as e:
        return f"segment '{utt}': {e}"


def _check_positive_seconds(key, value):
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        return f"duration of '{key}' must be a positive number of seconds, got '{value}'"


def _check_positive_count(key, value):
    if not (value.isdigit() and int(value) > 0):
        return f"count for '{key}' must be a positive integer, got '{value}'"


VALUE_CHECKS = {
    "text": _check_transcript,
    "utt2spk": _check_speaker,
    "spk2utt": _check_speaker_utterances,
    "segments": _check_segment,
    "utt2dur": _check_positive_seconds,
    "reco2dur": _check_positive_seconds,
    "utt2num_samples": _check_positive_count,
    "utt2num_frames": _check_positive_count,
}


def _wav_scp_problems(data_dir, tables) -> list[str]:
    """Each wav.scp value must be an existing file or a command ending in '|'."""
    problems = []
    for line in tables.get("wav.scp", []):
        if line.value and not is_pipe(line.value) and not Path(line.value).is_file():
            hint = " (a command must end with '|')" if len(line.value.split()) > 1 else ""
            problems.append(f"{data_dir / 'wav.scp'}:{line.number}: audio file not found for '{line.key}': {line.value}{hint}")
    return problems


def _segment_recording_problems(data_dir, tables) -> list[str]:
    if "segments" not in tables or "wav.scp" not in tables:
        return []
    recordings = {line.key for line in tables["wav.scp"]}
    return [
        f"{data_dir / 'segments'}:{number}: recording '{recording}' of segment '{utt}' is not in wav.scp"
        for number, utt, (recording, _, _) in _valid_segments(tables["segments"])
        if recording not in recordings
    ]


def _valid_segments(lines: list[Line]) -> list[tuple[int, str, tuple[str, float, float]]]:
    """(line number, utterance, segment) for each line that parses; the others are reported already."""
    valid = []
    for line in lines:
        try:
            valid.append((line.number, line.key, parse_segment(line.value)))
        except ValueError:
            pass
    return valid


def _id_problems(data_dir, tables) -> list[str]:
    """Per-utterance, per-speaker and per-recording files must cover exactly the same ids."""
    problems = []
    utterance_source = "segments" if "segments" in tables else "wav.scp"
    if utterance_source in tables:
        reference = _first_lines(tables[utterance_source])
        for name in UTTERANCE_FILES:
            if name in tables:
                problems += _compare_ids("utterance", data_dir / utterance_source, reference, data_dir / name, tables[name])
    if "utt2spk" in tables:
        speakers = {}
        for line in tables["utt2spk"]:
            speakers.setdefault(line.value, line.number)
        for name in SPEAKER_FILES:
            if name in tables:
                problems += _compare_ids("speaker", data_dir / "utt2spk", speakers, data_dir / name, tables[name])
    if "wav.scp" in tables:
        recordings = _first_lines(tables["wav.scp"])
        for name in RECORDING_FILES:
            if name in tables:
                problems += _compare_ids("recording", data_dir / "wav.scp", recordings, data_dir / name, tables[name])
    return problems


def _first_lines(lines: list[Line]) -> dict[str, int]:
    first = {}
    for line in lines:
        first.setdefault(line.key, line.number)
    return first


def _compare_ids(kind, reference_path, reference: dict[str, int], other_path, other_lines: list[Line]) -> list[str]:
    other = _first_lines(other_lines)
    extra = [
        f"{other_path}:{number}: {kind} '{key}' is not in {reference_path.name}"
        for key, number in other.items() if key not in reference
    ]
    missing = [
        f"{reference_path}:{number}: {kind} '{key}' is missing from {other_path.name}"
        for key, number in reference.items() if key not in other
    ]
    return (
        _at_most(extra, f"{other_path}: {{}} more {kind}s not in {reference_path.name}")
        + _at_most(missing, f"{reference_path}: {{}} more {kind}s missing from {other_path.name}")
    )


def _at_most(problems: list[str], summary: str) -> list[str]:
    if len(problems) <= MAX_REPORTED_IDS:
        return problems
    return problems[:MAX_REPORTED_IDS] + [summary.format(len(problems) - MAX_REPORTED_IDS)]


def _speaker_map_problems(data_dir, tables) -> list[str]:
    """spk2utt must list every utterance exactly once, under the speaker utt2spk gives it."""
    if "utt2spk" not in tables or "spk2utt" not in tables:
        return []
    utt2spk_path, spk2utt_path = data_dir / "utt2spk", data_dir / "spk2utt"
    speaker_of = {}
    for line in tables["utt2spk"]:
        speaker_of.setdefault(line.key, (line.value, line.number))
    problems, listed_on = [], {}
    for line in tables["spk2utt"]:
        for utt in line.value.split():
            where = f"{spk2utt_path}:{line.number}: utterance '{utt}'"
            if utt in listed_on:
                problems.append(f"{where} is listed more than once (also on line {listed_on[utt]})")
                continue
            listed_on[utt] = line.number
            if utt not in speaker_of:
                problems.append(f"{where} (speaker '{line.key}') is not in utt2spk")
            elif speaker_of[utt][0] != line.key:
                speaker, number = speaker_of[utt]
                problems.append(f"{where} is listed under speaker '{line.key}', but {utt2spk_path}:{number} gives '{speaker}'")
    problems += [
        f"{utt2spk_path}:{number}: utterance '{utt}' (speaker '{speaker}') is not listed in spk2utt"
        for utt, (speaker, number) in speaker_of.items() if utt not in listed_on
    ]
    return _at_most(problems, f"{spk2utt_path}: {{}} more disagreements with utt2spk")


def _audio_problems(data_dir, tables, fs) -> list[str]:
    """Decode every recording; with segments, each segment must end inside its recording."""
    wav_path = data_dir / "wav.scp"
    kind = "recording" if "segments" in tables else "utterance"
    problems, durations = [], {}
    for line in tables["wav.scp"]:
        if line.key in durations or not (is_pipe(line.value) or Path(line.value).is_file()):
            continue  # duplicates and missing files are reported already
        try:
            samples, rate = read_audio(line.value)
        except AudioError as e:
            problems.append(f"{wav_path}:{line.number}: cannot read audio for {kind} '{line.key}': {e}")
            continue
        if fs is not None and rate != fs:
            problems.append(f"{wav_path}:{line.number}: {kind} '{line.key}' has sample rate {rate} Hz, expected {fs} Hz")
        durations[line.key] = len(samples) / rate
    for number, utt, (recording, _, end) in _valid_segments(tables.get("segments", [])):
        if recording in durations and end > durations[recording] + SEGMENT_END_TOLERANCE_S:
            problems.append(
                f"{data_dir / 'segments'}:{number}: segment '{utt}' ends at {end:.2f} s, "
                f"beyond the end of recording '{recording}' ({durations[recording]:.2f} s)"
            )
    return problems


def _video_problems(data_dir, tables, decode: bool) -> list[str]:
    """video.scp's files exist; with decode, each decodes and fits its utterance's audio duration."""
    durations = {}
    if decode and "wav.scp" in tables:
        segments = {utt: segment for _, utt, segment in _valid_segments(tables.get("segments", []))}
        durations = utterance_durations({line.key: line.value for line in tables["wav.scp"]},
                                        segments if "segments" in tables else None)
    return video_problems(data_dir / "video.scp", tables["video.scp"], durations, decode)


# ---------------------------------------------------------------- fixing


def fix_data_dir(path) -> tuple[int, int]:
    """Repair a data dir like Kaldi's fix_data_dir.sh; return (kept, total) utterances.

    The original files go to `path/.backup/` first. Each file is sorted and loses
    duplicate keys (the first wins) and unusable lines; only utterances present in
    every per-utterance file (with a transcript, a speaker and a valid segment) stay.
    """
    data_dir = Path(path)
    for name in ("wav.scp", "utt2spk"):
        if not (data_dir / name).is_file():
            raise DataDirError(f"{data_dir / name}: missing (fix_data_dir cannot create it)")
    _back_up(data_dir)
    tables = {
        name: _usable_entries(data_dir / name)
        for name in KNOWN_FILES
        if name != "spk2utt" and (data_dir / name).is_file()  # spk2utt is regenerated from utt2spk
    }
    if "segments" in tables:
        tables["segments"] = {
            utt: value for utt, value in tables["segments"].items() if parse_segment(value)[0] in tables["wav.scp"]
        }
    utterance_source = "segments" if "segments" in tables else "wav.scp"
    utterance_files = [utterance_source] + [name for name in UTTERANCE_FILES if name in tables]
    total = len(set().union(*(_all_keys(data_dir / name) for name in utterance_files)))
    kept_utts = set.intersection(*(set(tables[name]) for name in utterance_files))
    _write_kept(data_dir, tables, utterance_files, kept_utts)
    return len(kept_utts), total


def _back_up(data_dir: Path):
    backup_dir = data_dir / ".backup"
    for name in KNOWN_FILES:
        if (data_dir / name).is_file():
            with atomic_write(backup_dir / name, "wb") as f:
                f.write((data_dir / name).read_bytes())


def _usable_entries(path) -> dict[str, str]:
    """The first entry for each key, without lines fix_data_dir cannot use (bad encoding, bad value)."""
    lines, _ = _scan_lines(path)
    check_value = VALUE_CHECKS.get(path.name, _check_not_empty)
    entries = {}
    for line in lines:
        if line.key not in entries and not check_value(line.key, line.value):
            entries[line.key] = line.value
    return entries


def _all_keys(path) -> set[str]:
    return {line.key for line in _scan_lines(path)[0]}


def _write_kept(data_dir, tables, utterance_files, kept_utts):
    for name in utterance_files:
        write_table(data_dir / name, _only(tables[name], kept_utts))
    utt2spk = _only(tables["utt2spk"], kept_utts)
    write_table(data_dir / "spk2utt", _spk2utt_table(utt2spk))
    _write_only(data_dir, tables, SPEAKER_FILES, set(utt2spk.values()))
    if "segments" in tables:
        recordings = {parse_segment(value)[0] for value in _only(tables["segments"], kept_utts).values()}
        write_table(data_dir / "wav.scp", _only(tables["wav.scp"], recordings))
    else:
        recordings = kept_utts
    _write_only(data_dir, tables, RECORDING_FILES, recordings)


def _write_only(data_dir, tables, names, keys: set[str]):
    for name in names:
        if name in tables:
            write_table(data_dir / name, _only(tables[name], keys))


def _only(table: dict[str, str], keys: set[str]) -> dict[str, str]:
    return {key: value for key, value in table.items() if key in keys}
