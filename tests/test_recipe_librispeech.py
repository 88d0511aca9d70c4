"""egs/librispeech_100 on a miniature LibriSpeech written in the corpus's exact tree (real LJSpeech-sentence audio
from ../shared/data/lj_read), stages 1-9 through run.sh with a tiny config; the speed-perturbed copies' lengths;
a truncated download and a transcript line without audio as one-line errors. No network: the archive test puts the
"download" where local/data.sh would fetch it to."""

import io
import json
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml
from conftest import RECIPE_OUTPUTS, REPO, recipe_env, run_recipe, shared_corpus

from asrkit.data.archive import ArchiveError, unpack
from asrkit.data.datadir import read_dict
from asrkit.data.librispeech import SUBSETS, read_subset

# Each subset's speakers and chapters; each chapter gets UTTS_PER_CHAPTER utterances.
TREE = {"train-clean-100": {"103": ["1240", "1241"], "1034": ["121119"]}, "dev-clean": {"84": ["121123"]},
        "dev-other": {"116": ["288045"]}, "test-clean": {"1089": ["134686"]}, "test-other": {"1688": ["142285"]}}
UTTS_PER_CHAPTER = {"train-clean-100": 4}  # 2 elsewhere
TINY = {
    "seed": 0, "max_epoch": 1, "batch_frames": 3000, "warmup_steps": 5, "keep_nbest": 1, "amp": "bf16", "accum_grad": 2,
    "model": {"input_size": 80,
              "encoder": {"output_size": 32, "attention_heads": 2, "num_blocks": 1, "linear_units": 32,
                          "cgmlp_linear_units": 32, "cgmlp_conv_kernel": 3},
              "decoder": {"attention_heads": 2, "linear_units": 32, "num_blocks": 1}},
}


def lj_clips() -> list[tuple[str, str]]:
    """(flac path, upper-case transcript) of the lj_read speaker clips, sorted."""
    lj = shared_corpus("lj_read") / "lj"
    text = dict(line.split("|", 1) for line in (shared_corpus("ljspeech_text") / "metadata.csv").read_text().splitlines())
    return [(str(flac), " ".join(text[flac.stem].upper().replace(",", " ").replace(".", " ").split()))
            for flac in sorted(lj.glob("*.flac"))]


def write_librispeech(root, clips) -> dict:
    """LibriSpeech/<subset>/SPEAKER/CHAPTER/SPEAKER-CHAPTER-NNNN.flac + SPEAKER-CHAPTER.trans.txt; returns the
    utterance count per subset."""
    clips, counts = iter(clips), {}
    for subset, speakers in TREE.items():
        counts[subset] = 0
        for speaker, chapters in speakers.items():
            for chapter in chapters:
                folder = root / subset / speaker / chapter
                folder.mkdir(parents=True)
                lines = []
                for number in range(UTTS_PER_CHAPTER.get(subset, 2)):
                    flac, text = next(clips)
                    utt = f"{speaker}-{chapter}-{number:04d}"
                    shutil.copyfile(flac, folder / f"{utt}.flac")
                    lines.append(f"{utt} {text}\n")
                (folder / f"{speaker}-{chapter}.trans.txt").write_text("".join(lines))
                counts[subset] += len(lines)
    return counts


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    root = tmp_path_factory.mktemp("librispeech")
    counts = write_librispeech(root / "LibriSpeech", lj_clips())
    return root, counts


def test_the_recipe_runs_every_stage_on_a_miniature_librispeech_tree(mini, tmp_path):
    root, counts = mini
    recipe, tiny = tmp_path / "asr1", tmp_path / "tiny.yaml"
    tiny.write_text(yaml.safe_dump(TINY))
    run_recipe("librispeech_100", recipe, "--nj", "1", "--asr_config", str(tiny), "--vocab_size", "40",
               "--test_sets", "dev_clean", LIBRISPEECH=str(root / "LibriSpeech"))  # one feature set fewer: faster

    data = recipe / "data"
    for subset in SUBSETS:  # stage 1 writes every subset, named as ESPnet names them
        assert len(read_dict(data / subset.replace("-", "_") / "text")) == counts[subset]
    frames = {utt: int(n) for utt, n in read_dict(data / "train_clean_100_sp" / "utt2num_frames").items()}
    originals = read_dict(data / "train_clean_100" / "text")
    assert len(frames) == 3 * len(originals)
    for utt in originals:  # sox speed F plays 1/F times as long
        assert frames[f"sp0.9-{utt}"] == pytest.approx(frames[utt] / 0.9, abs=2)
        assert frames[f"sp1.1-{utt}"] == pytest.approx(frames[utt] / 1.1, abs=2)
    exp = recipe / "exp" / "asr_tiny_sp"
    assert yaml.safe_load((exp / "config.yaml").read_text())["amp"] == "bf16"
    summary = json.loads((exp / "decode_decode_valid.acc.ave" / "dev_clean" / "score_wer" / "summary.json").read_text())
    assert summary["n_sent"] == counts["dev-clean"]
    assert "dev_clean" in (recipe / "RESULTS.md").read_text()


def test_a_transcript_line_without_its_flac_is_an_error_naming_the_line(mini, tmp_path):
    subset = tmp_path / "dev-clean"
    shutil.copytree(mini[0] / "LibriSpeech" / "dev-clean", subset)
    (subset / "84" / "121123" / "84-121123-0001.flac").unlink()
    with pytest.raises(Exception, match=r"84-121123\.trans\.txt:2: utterance '84-121123-0001' has no audio"):
        read_subset(subset)
    result = subprocess.run([sys.executable, "-m", "asrkit.cli", "prep", "librispeech", str(tmp_path), str(tmp_path / "data"), "--subset",
                             "dev-clean"], capture_output=True, text=True, env=recipe_env())
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "84-121123.trans.txt:2:" in result.stderr


def archive_of(mini_root, tmp_path):
    archive = tmp_path / "dev-clean.tar.gz"
    subprocess.run(["tar", "-czf", str(archive), "-C", str(mini_root), "LibriSpeech/dev-clean"], check=True)
    return archive


def test_a_truncated_archive_is_an_error_naming_it_and_a_whole_one_unpacks_once(mini, tmp_path):
    archive = archive_of(mini[0], tmp_path)
    unpack(archive, tmp_path / "whole")
    assert len(read_subset(tmp_path / "whole" / "LibriSpeech" / "dev-clean")) == 2
    assert (tmp_path / "whole" / ".dev-clean.tar.gz.unpacked").exists()
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(ArchiveError, match=r"dev-clean\.tar\.gz: truncated or corrupt archive"):
        unpack(archive, tmp_path / "half")


def test_an_archive_member_escaping_the_destination_is_refused_as_unsafe_not_corrupt(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        member = tarfile.TarInfo("../outside.txt")
        member.size = 3
        tar.addfile(member, io.BytesIO(b"bad"))
    with pytest.raises(ArchiveError, match=r"evil\.tar\.gz: unsafe member refused .*outside"):
        unpack(archive, tmp_path / "dest")
    assert not (tmp_path / "outside.txt").exists()


def test_local_data_sh_checks_a_download_against_openslrs_checksum(mini, tmp_path):
    """db.sh's path absent: local/data.sh takes downloads/<subset>.tar.gz (already there, so nothing is fetched)
    and refuses it, since it is not openslr's archive."""
    recipe = tmp_path / "asr1"
    shutil.copytree(REPO / "egs" / "librispeech_100" / "asr1", recipe, ignore=RECIPE_OUTPUTS)
    (recipe / "downloads").mkdir()
    shutil.move(archive_of(mini[0], tmp_path), recipe / "downloads" / "train-clean-100.tar.gz")
    result = run_recipe("librispeech_100", recipe, "--stop_stage", "1", check=False, LIBRISPEECH=str(tmp_path / "absent"))
    assert result.returncode != 0
    assert "downloads/train-clean-100.tar.gz: sha256" in result.stderr
    assert "is not the published d4ddd1d5" in result.stderr and "truncated or corrupt download" in result.stderr
