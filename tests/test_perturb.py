import numpy as np
import pytest
from conftest import shared_corpus
from typer.testing import CliRunner

from asrkit.cli import app
from asrkit.data.audio import read_audio
from asrkit.data.datadir import read_dict, validate_data_dir, write_data_dir
from asrkit.data.features import FbankConfig, fbank
from asrkit.data.perturb import Perturbation, perturb_data_dir


def _yesno_dir(path, count=2, segments=False):
    waves = sorted(shared_corpus("yesno").glob("*.wav"))[:count]
    if not segments:
        write_data_dir(path, {w.stem: str(w) for w in waves}, {w.stem: w.stem.replace("_", " ") for w in waves},
                       {w.stem: "spk" for w in waves}, utt2dur={w.stem: read_audio(str(w))[0].size / 8000 for w in waves})
        return path
    # Two segments of one recording: segment times and recording ids are perturbed too.
    segs = {"rec-a": ("rec", 0.5, 2.0), "rec-b": ("rec", 2.5, 6.3)}
    write_data_dir(path, {"rec": str(waves[0])}, {"rec-a": "A", "rec-b": "B"}, {"rec-a": "spk", "rec-b": "spk"}, segs)
    return path


def _frames(wav_scp_value):
    samples, _ = read_audio(wav_scp_value, fs=16000)
    return len(fbank(samples, FbankConfig()))


def test_speed_perturbation_prefixes_ids_like_kaldi_and_lengthens_audio_by_one_over_the_factor(tmp_path):
    src = _yesno_dir(tmp_path / "src")
    assert perturb_data_dir(src, tmp_path / "sp", Perturbation(speeds=(0.9, 1.0, 1.1))) == 6
    utt2spk, wav_scp = read_dict(tmp_path / "sp" / "utt2spk"), read_dict(tmp_path / "sp" / "wav.scp")
    assert utt2spk["sp0.9-0_0_0_0_1_1_1_1"] == "sp0.9-spk" and utt2spk["0_0_0_0_1_1_1_1"] == "spk"
    assert sorted(set(utt2spk.values())) == ["sp0.9-spk", "sp1.1-spk", "spk"]
    assert wav_scp["sp0.9-0_0_0_0_1_1_1_1"].endswith("0_0_0_0_1_1_1_1.wav -t wav - speed 0.9 |")
    assert read_dict(tmp_path / "sp" / "utt2uniq")["sp1.1-0_0_0_0_1_1_1_1"] == "0_0_0_0_1_1_1_1"
    original, slow = _frames(wav_scp["0_0_0_0_1_1_1_1"]), _frames(wav_scp["sp0.9-0_0_0_0_1_1_1_1"])
    assert abs(slow - original / 0.9) <= 2
    durations = read_dict(tmp_path / "sp" / "utt2dur")
    assert float(durations["sp0.9-0_0_0_0_1_1_1_1"]) == pytest.approx(6.35 / 0.9, abs=1e-3)
    assert validate_data_dir(tmp_path / "sp", check_audio=True) == []


def test_speed_perturbation_scales_segment_times_and_renames_recordings(tmp_path):
    src = _yesno_dir(tmp_path / "src", segments=True)
    perturb_data_dir(src, tmp_path / "sp", Perturbation(speeds=(0.9,)))
    segments = read_dict(tmp_path / "sp" / "segments")
    assert segments == {"sp0.9-rec-a": "sp0.9-rec 0.556 2.222", "sp0.9-rec-b": "sp0.9-rec 2.778 7.000"}
    assert list(read_dict(tmp_path / "sp" / "wav.scp")) == ["sp0.9-rec"]
    assert validate_data_dir(tmp_path / "sp", check_audio=True) == []


def test_volume_is_drawn_per_recording_from_the_range_and_repeats_with_the_seed(tmp_path):
    src = _yesno_dir(tmp_path / "src")
    perturbation = Perturbation(volume=(0.5, 1.5), seed=3)
    perturb_data_dir(src, tmp_path / "a", perturbation)
    perturb_data_dir(src, tmp_path / "b", perturbation)
    wav_scp = read_dict(tmp_path / "a" / "wav.scp")
    assert wav_scp == read_dict(tmp_path / "b" / "wav.scp")
    volumes = {rec: float(value.split("--vol ")[1].split()[0]) for rec, value in wav_scp.items()}
    assert all(0.5 <= v <= 1.5 for v in volumes.values()) and len(set(volumes.values())) == 2
    rec = "0_0_0_0_1_1_1_1"
    louder, original = read_audio(wav_scp[rec])[0], read_audio(read_dict(src / "wav.scp")[rec])[0]
    assert np.max(np.abs(louder)) / np.max(np.abs(original)) == pytest.approx(volumes[rec], rel=1e-3)


def _snr_db(clean, mixed):
    return 10 * np.log10(np.sum(clean.astype(np.float64) ** 2) / np.sum((mixed - clean).astype(np.float64) ** 2))


def _fsdd_noise_dir(path):
    waves = sorted((shared_corpus("fsdd") / "recordings").glob("*_jackson_*.wav"))[:6]
    write_data_dir(path, {w.stem: str(w) for w in waves}, {w.stem: "x" for w in waves}, {w.stem: "n" for w in waves})
    return path


def test_babble_noise_mixed_at_5_db_measures_5_db_and_repeats_with_the_seed_only(tmp_path):
    src, noise = _yesno_dir(tmp_path / "src"), _fsdd_noise_dir(tmp_path / "noise")
    mixed = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        perturb_data_dir(src, tmp_path / name, Perturbation(noise=str(noise), snr_db=5.0, babble=3, seed=seed))
        mixed[name] = {rec: read_audio(value)[0] for rec, value in read_dict(tmp_path / name / "wav.scp").items()}
    for rec, value in read_dict(src / "wav.scp").items():
        assert _snr_db(read_audio(value)[0], mixed["a"][rec]) == pytest.approx(5.0, abs=0.1)
        assert np.array_equal(mixed["a"][rec], mixed["b"][rec])
        assert not np.array_equal(mixed["a"][rec], mixed["c"][rec])
    assert validate_data_dir(tmp_path / "a", check_audio=True) == []


def test_white_noise_after_speed_perturbation_measures_its_snr(tmp_path):
    src = _yesno_dir(tmp_path / "src", count=1)
    perturb_data_dir(src, tmp_path / "sp", Perturbation(speeds=(1.1,)))
    perturb_data_dir(src, tmp_path / "noisy", Perturbation(speeds=(1.1,), noise="white", snr_db=20.0))
    clean = read_audio(read_dict(tmp_path / "sp" / "wav.scp")["sp1.1-0_0_0_0_1_1_1_1"])[0]
    noisy = read_audio(read_dict(tmp_path / "noisy" / "wav.scp")["sp1.1-0_0_0_0_1_1_1_1"])[0]
    assert _snr_db(clean, noisy) == pytest.approx(20.0, abs=0.1)


def test_perturb_command_output_passes_validate_data(tmp_path):
    src = _yesno_dir(tmp_path / "src")
    runner = CliRunner()
    result = runner.invoke(app, ["perturb", str(src), str(tmp_path / "out"), "--speed", "0.9", "--speed", "1.0",
                                 "--volume", "--write-audio"])
    assert result.exit_code == 0, result.output
    assert "4 utterances" in result.output
    assert all(value.endswith(".wav") for value in read_dict(tmp_path / "out" / "wav.scp").values())
    result = runner.invoke(app, ["validate-data", str(tmp_path / "out"), "--check-audio"])
    assert result.exit_code == 0, result.output
