"""egs/commonvoice_en on a miniature Common Voice language folder (clips/*.mp3 made with ffmpeg from the real
LJSpeech-sentence audio in ../shared/data/lj_read, train/dev/test TSVs with the release's header), stages 1-9
through run.sh with a tiny config; a TSV row without its clip and an absent corpus as clear errors."""

import json
import subprocess

import pytest
import yaml
from conftest import run_recipe, shared_corpus
from test_recipe_librispeech import TINY

from asrkit.data.commonvoice import ffmpeg_pipe, read_split
from asrkit.data.datadir import read_dict
from asrkit.errors import AsrkitError

HEADER = "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tvariant\tlocale\tsegment\n"
SPLITS = {"train": 8, "dev": 2, "test": 2}  # rows per TSV
SPEAKERS = ["a1b2c3d4e5f60718293a4b5c6d7e8f90", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"]  # client_id hashes


def write_commonvoice(root) -> dict:
    """ROOT/clips/common_voice_en_<n>.mp3 and ROOT/<split>.tsv; returns the TSV rows' sentences by split."""
    lj = shared_corpus("lj_read") / "pm"
    text = dict(line.split("|", 1) for line in (shared_corpus("ljspeech_text") / "metadata.csv").read_text().splitlines())
    flacs = iter(sorted(lj.glob("*.flac")))
    (root / "clips").mkdir(parents=True)
    sentences, number = {}, 0
    for split, count in SPLITS.items():
        rows = []
        for _ in range(count):
            flac, number = next(flacs), number + 1
            clip = f"common_voice_en_{number}.mp3"
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(flac), "-ar", "48000", "-ac", "1",
                            "-c:a", "libmp3lame", str(root / "clips" / clip)], check=True)
            rows.append(f"{SPEAKERS[number % 2]}\t{clip}\t{text[flac.stem]}\t2\t0\t\t\t\t\ten\t\n")
        (root / f"{split}.tsv").write_text(HEADER + "".join(rows))
        sentences[split] = len(rows)
    return sentences


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv") / "en"
    return root, write_commonvoice(root)


def test_the_recipe_runs_every_stage_on_a_miniature_common_voice_release(corpus, tmp_path):
    root, counts = corpus
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(yaml.safe_dump({**TINY, "amp": "none", "accum_grad": 1}))
    recipe = tmp_path / "asr1"
    run_recipe("commonvoice_en", recipe, "--nj", "1", "--asr_config", str(tiny), "--vocab_size", "40",
               "--test_sets", "dev", COMMONVOICE=str(root))  # one feature set fewer: faster
    data = recipe / "data"
    for split, count in counts.items():
        assert len(read_dict(data / split / "text")) == count
    wav_scp = read_dict(data / "train" / "wav.scp")
    assert all(value.startswith("ffmpeg ") and value.endswith(".mp3 -f wav -ar 16000 -ac 1 - |") for value in wav_scp.values())
    frames = {utt: int(n) for utt, n in read_dict(data / "train_sp" / "utt2num_frames").items()}
    for utt in wav_scp:  # the speed copies of an ffmpeg pipe
        assert frames[f"sp0.9-{utt}"] == pytest.approx(frames[utt] / 0.9, abs=2)
        assert frames[f"sp1.1-{utt}"] == pytest.approx(frames[utt] / 1.1, abs=2)
    utt = sorted(wav_scp)[0]
    assert utt.startswith(SPEAKERS[0][:8]) or utt.startswith(SPEAKERS[1][:8])
    summary = json.loads((recipe / "exp" / "asr_tiny_sp" / "decode_decode_valid.acc.ave" / "dev" / "score_wer"
                          / "summary.json").read_text())
    assert summary["n_sent"] == counts["dev"]


def test_a_tsv_row_whose_clip_is_absent_is_an_error_naming_the_line(corpus, tmp_path):
    root, _ = corpus
    rows = (root / "dev.tsv").read_text().splitlines(keepends=True)
    (tmp_path / "clips").symlink_to(root / "clips")
    (tmp_path / "dev.tsv").write_text("".join(rows) + rows[1].replace("\tcommon_voice_en_", "\tmissing_"))
    with pytest.raises(AsrkitError, match=r"dev\.tsv:4: clip 'missing_\d+\.mp3' has no audio"):
        read_split(tmp_path, "dev")
    assert ffmpeg_pipe(root / "clips" / "a b.mp3").startswith("ffmpeg -nostdin -v error -i '")  # quoted path


def test_without_the_corpus_local_data_sh_says_it_must_be_downloaded_by_hand(tmp_path):
    result = run_recipe("commonvoice_en", tmp_path / "asr1", "--stop_stage", "1", check=False,
                        COMMONVOICE=str(tmp_path / "absent"))
    assert result.returncode != 0
    assert "cannot be downloaded by a script" in result.stderr
    assert "https://commonvoice.mozilla.org/en/datasets" in result.stderr
