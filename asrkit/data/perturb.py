"""Seeded audio perturbation: a data dir in, a perturbed data dir out, with Kaldi's conventions.

speed    (utils/data/perturb_data_dir_speed.sh) sox's `speed F` (tempo and pitch together): utterance, speaker and
         recording ids get the prefix `spF-`, segment times and utt2dur are divided by F, utt2uniq maps each
         utterance to its original. Several factors give one copy per factor in one dir (as the 3-way script and
         ESPnet's --speed_perturb_factors); factor 1.0 keeps the original ids and audio.
volume   (utils/data/perturb_data_dir_volume.sh) `sox --vol V` with V drawn uniformly from [low, high] per recording.
noise    additive noise at a given SNR: babble (the sum of `babble` utterances of a noise data dir, each from a
         random offset, looped when shorter) or white Gaussian noise. SNR is measured over the whole recording
         (utterance, without segments): SNR = 10 log10(sum s^2 / sum (g n)^2), the gain g chosen to meet it.
         A mix that would clip in 16 bits is scaled down as a whole, which keeps the SNR.
Every random draw is seeded by (seed, output recording id), so a recording gets the same perturbation whatever else
is in the dir. The audio stays `sox -R ... |` pipes in wav.scp (-R: sox's dither repeats itself run to run), or is
written as 16-bit wav files (AUDIO_DIR/<recording>.wav, atomically); noise is always written, since its gain
follows from measuring both signals. Features and other files describing the old audio are not carried over.
"""

import dataclasses
import random
import shlex
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from asrkit.data.audio import is_pipe, iter_utterance_audio, read_audio
from asrkit.data.datadir import (
    DataDir,
    DataDirError,
    load_data_dir,
    read_optional,
    write_data_dir,
    write_table,
)
from asrkit.errors import AsrkitError
from asrkit.fileio import atomic_path
from asrkit.progress import progress_bar

WHITE = "white"  # --noise value for white noise instead of a noise data dir
CLIP_LEVEL = 1 - 2**-15  # the largest amplitude a mix keeps: 16-bit PCM holds [-1, 1 - 2^-15]


@dataclass(frozen=True)
class Perturbation:
    speeds: tuple[float, ...] = (1.0,)  # speed factors, one copy of the data each (1.0: the original)
    volume: tuple[float, float] | None = None  # (low, high) range of the volume factor drawn per recording
    noise: str | None = None  # a noise data dir, or "white"; None: no noise
    snr_db: float = 10.0  # signal-to-noise ratio of the mix, dB, over the whole recording
    babble: int = 1  # noise utterances summed into one recording's noise
    seed: int = 0  # seed of every draw (with the output recording id)


@dataclass
class Copy:
    """One speed factor's copy of the data dir: tables keyed by the new ids."""

    wav_scp: dict
    text: dict
    utt2spk: dict
    segments: dict | None
    utt2dur: dict | None
    utt2uniq: dict
    spk2gender: dict | None


def perturb_data_dir(src, dst, perturbation: Perturbation, write_audio: bool = False, audio_dir=None) -> int:
    """Write the perturbed copy of data dir SRC into DST; returns the number of utterances written."""
    if perturbation.noise is not None:
        write_audio = True
    data = load_data_dir(src)
    if data.text is None:
        raise DataDirError(f"{Path(src) / 'text'}: missing (every data dir needs it)")
    merged = _union([speed_copy(data, factor) for factor in dict.fromkeys(perturbation.speeds)])
    if perturbation.volume is not None:
        merged.wav_scp = {rec: volume_pipe(value, draw_volume(rec, perturbation)) for rec, value in merged.wav_scp.items()}
    if write_audio:
        merged.wav_scp = write_recordings(merged.wav_scp, Path(audio_dir or Path(dst) / "audio"), perturbation)
    # Kaldi writes utt2uniq for speed copies; an unperturbed copy keeps the one it had, if any.
    _write(dst, merged, with_uniq=any(factor != 1.0 for factor in perturbation.speeds)
           or (Path(src) / "utt2uniq").is_file())
    return len(merged.utt2spk)


def _union(copies: list[Copy]) -> Copy:
    def union(name):
        tables = [getattr(copy, name) for copy in copies]
        return None if tables[0] is None else {key: value for table in tables for key, value in table.items()}
    return Copy(**{field.name: union(field.name) for field in dataclasses.fields(Copy)})


def _write(dst, copy: Copy, with_uniq: bool):
    write_data_dir(dst, copy.wav_scp, copy.text, copy.utt2spk, copy.segments, copy.utt2dur)
    if with_uniq:
        write_table(Path(dst) / "utt2uniq", copy.utt2uniq)
    if copy.spk2gender is not None:
        write_table(Path(dst) / "spk2gender", copy.spk2gender)


# ---------------------------------------------------------------- speed


def factor_name(factor: float) -> str:
    """0.9 -> '0.9', 1.10 -> '1.1': the F of the `spF-` prefix."""
    return f"{factor:g}"


def speed_copy(data: DataDir, factor: float) -> Copy:
    """The data dir's tables for speed `factor`: ids prefixed `spF-` (none for 1.0), times divided by F."""
    if factor <= 0:
        raise AsrkitError(f"speed factor {factor} must be positive")
    prefix = "" if factor == 1.0 else f"sp{factor_name(factor)}-"
    src = data.path
    utt2dur = read_optional(src / "utt2dur")
    utt2uniq = read_optional(src / "utt2uniq") or {}
    spk2gender = read_optional(src / "spk2gender")
    return Copy(
        wav_scp={prefix + rec: value if factor == 1.0 else speed_pipe(value, factor) for rec, value in data.wav_scp.items()},
        text={prefix + utt: text for utt, text in data.text.items()},
        utt2spk={prefix + utt: prefix + spk for utt, spk in data.utt2spk.items()},
        segments=None if data.segments is None else {
            prefix + utt: (prefix + rec, start / factor, end / factor) for utt, (rec, start, end) in data.segments.items()
        },
        utt2dur=None if utt2dur is None else {prefix + utt: float(dur) / factor for utt, dur in utt2dur.items()},
        utt2uniq={prefix + utt: utt2uniq.get(utt, utt) for utt in data.utt2spk},
        spk2gender=None if spk2gender is None else {prefix + spk: gender for spk, gender in spk2gender.items()},
    )


def speed_pipe(value: str, factor: float) -> str:
    """A wav.scp value at speed `factor`, as perturb_data_dir_speed.sh writes it (with sox -R)."""
    return _sox_after(value, "", f"speed {factor_name(factor)}")


def volume_pipe(value: str, volume: float) -> str:
    """A wav.scp value at `volume` times the amplitude, as perturb_data_dir_volume.sh writes it (with sox -R)."""
    return _sox_after(value, f"--vol {volume:.4f}", "")


def _sox_after(value: str, input_options: str, effect: str) -> str:
    """`sox -R INPUT_OPTIONS INPUT -t wav - EFFECT |` reading the file, or the pipe's output (wav), that a wav.scp
    value names."""
    value = value.strip()
    if is_pipe(value):
        source = [value, "sox", "-R", input_options, "-t", "wav", "-"]
    else:
        source = ["sox", "-R", input_options, shlex.quote(value)]
    return " ".join(part for part in [*source, "-t", "wav", "-", effect, "|"] if part)


def draw_volume(recording: str, perturbation: Perturbation) -> float:
    low, high = perturbation.volume
    if not 0 < low <= high:
        raise AsrkitError(f"volume range [{low}, {high}]: expected 0 < low <= high")
    return random.Random(f"{perturbation.seed}/volume/{recording}").uniform(low, high)


# ---------------------------------------------------------------- noise and written audio


def write_recordings(wav_scp: dict[str, str], audio_dir: Path, perturbation: Perturbation) -> dict[str, str]:
    """Decode every recording (with noise mixed in when asked) into AUDIO_DIR/<recording>.wav; the new wav.scp."""
    noise = NoiseSource(perturbation)
    written = {}
    for rec, value in progress_bar(wav_scp.items(), total=len(wav_scp), description="perturb"):
        try:
            samples, rate = read_audio(value)
        except AsrkitError as error:
            raise AsrkitError(f"recording '{rec}': {error}") from None
        if perturbation.noise is not None:
            samples = mix_at_snr(samples, noise.draw(rec, len(samples), rate), perturbation.snr_db, rec)
        path = audio_dir.resolve() / f"{rec}.wav"
        with atomic_path(path) as tmp:
            soundfile.write(tmp, samples, rate, format="WAV", subtype="PCM_16")
        written[rec] = str(path)
    return written


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float, recording: str) -> np.ndarray:
    """signal + g * noise with 10 log10(sum signal^2 / sum (g noise)^2) = snr_db, scaled down as a whole if it
    would clip."""
    signal_power, noise_power = float(np.mean(signal.astype(np.float64) ** 2)), float(np.mean(noise.astype(np.float64) ** 2))
    if signal_power == 0 or noise_power == 0:
        silent = "the recording" if signal_power == 0 else "its noise"
        raise AsrkitError(f"recording '{recording}': {silent} is silent, so no SNR can be set")
    gain = np.sqrt(signal_power / (noise_power * 10 ** (snr_db / 10)))
    mixed = signal + gain * noise
    peak = float(np.max(np.abs(mixed)))
    return (mixed * (CLIP_LEVEL / peak) if peak > CLIP_LEVEL else mixed).astype(np.float32)


class NoiseSource:
    """Noise for a recording: babble from a noise data dir (loaded once per sample rate) or white noise, drawn
    from (seed, recording id)."""

    def __init__(self, perturbation: Perturbation):
        self.perturbation = perturbation
        self.loaded: dict[int, dict[str, np.ndarray]] = {}  # sample rate -> noise utterances at that rate
        if perturbation.noise not in (None, WHITE):
            self.data = load_data_dir(perturbation.noise)
        if perturbation.babble < 1:
            raise AsrkitError(f"babble {perturbation.babble}: at least one noise utterance is summed")

    def draw(self, recording: str, length: int, rate: int) -> np.ndarray:
        rng = random.Random(f"{self.perturbation.seed}/noise/{recording}")
        if self.perturbation.noise == WHITE:
            return np.random.default_rng(rng.getrandbits(64)).standard_normal(length)
        noise, utterances = np.zeros(length), self.utterances(rate)
        for _ in range(self.perturbation.babble):
            samples = utterances[rng.choice(sorted(utterances))]
            start = rng.randrange(len(samples))
            noise += np.take(samples, np.arange(start, start + length), mode="wrap")  # looped when shorter
        return noise

    def utterances(self, rate: int) -> dict[str, np.ndarray]:
        if rate not in self.loaded:
            audio = progress_bar(iter_utterance_audio(self.data, rate), total=len(self.data.utt_ids), description="noise")
            self.loaded[rate] = {utt: samples for utt, samples in audio if len(samples)}
            if not self.loaded[rate]:
                raise DataDirError(f"{self.data.path}: no noise audio")
        return self.loaded[rate]
