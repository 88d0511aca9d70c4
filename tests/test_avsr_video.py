"""Video for Omni-AVSR on real GRID s1 clips: video.scp, its checks, mouth-ROI features, the VSR front-end, and a
lip-reading model trained, decoded and cached by the ASR commands."""

import subprocess

import kaldiio
import numpy as np
import pytest
import torch
import yaml
from conftest import shared_corpus

from asrkit.asr.decode_dir import decode_data_dir
from asrkit.asr.model import ASRModel, ModelConfig
from asrkit.asr.train import Inputs, train
from asrkit.asr.transcribe import load_recognizer
from asrkit.avsr.roi import RoiConfig, video_roi
from asrkit.avsr.vsr import VideoFrontend, VideoFrontendConfig, flops_per_frame
from asrkit.data.datadir import read_dict, validate_data_dir
from asrkit.data.grid import read_corpus, write_utterances
from asrkit.data.tokens import build_token_list
from asrkit.interop.espnet import export_espnet
from asrkit.errors import AsrkitError, ConfigError
from asrkit.pack import write_pack
from asrkit.train.cache import cache_encoder, load_cache

SMALL_ROI = RoiConfig(width=32, height=24)  # the default crop scaled by 1/2: a tiny model reads it fast
TINY_VSR = {
    "seed": 0, "max_epoch": 1, "batch_frames": 400, "lr": 0.002, "warmup_steps": 2, "keep_nbest": 1,
    "model": {"input_size": 32, "frontend": "video_roi", "ctc_weight": 0.5,
              "video_frontend": {"height": 24, "width": 32, "channels": [4, 8], "blocks": 1, "temporal_kernel": 3},
              "encoder_type": "conformer",
              "encoder": {"output_size": 32, "attention_heads": 2, "num_blocks": 1, "linear_units": 64,
                          "cnn_module_kernel": 7, "input_layer": "linear", "rel_pos_type": "latest"},
              "decoder": {"attention_heads": 2, "linear_units": 64, "num_blocks": 1}},
}


@pytest.fixture(scope="module")
def grid_utterances():
    return read_corpus(shared_corpus("grid_s1"))[:6]


@pytest.fixture
def grid_data(tmp_path, grid_utterances):
    data = tmp_path / "data"
    write_utterances(data, grid_utterances)
    return data


def test_grid_data_dirs_get_a_video_scp_that_reads_back_and_validates(grid_data, grid_utterances):
    videos = read_dict(grid_data / "video.scp")
    assert videos == {u.utt_id: str(u.video) for u in grid_utterances}
    assert set(videos) == set(read_dict(grid_data / "wav.scp"))
    assert validate_data_dir(grid_data, check_video=True) == []


def test_missing_truncated_and_wrong_length_videos_are_refused_naming_their_utterance(tmp_path, grid_data):
    videos = read_dict(grid_data / "video.scp")
    missing, truncated, short = sorted(videos)[:3]
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(open(videos[truncated], "rb").read()[:3000])
    trimmed = tmp_path / "short.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", videos[short], "-frames:v", "50", str(trimmed)], check=True)
    videos.update({missing: str(tmp_path / "gone.mp4"), truncated: str(cut), short: str(trimmed)})
    (grid_data / "video.scp").write_text("".join(f"{u} {p}\n" for u, p in sorted(videos.items())))

    problems = validate_data_dir(grid_data, check_video=True)
    assert len(problems) == 3
    assert f"utterance '{missing}': video file not found" in problems[0]
    assert f"utterance '{truncated}': cannot decode video" in problems[1]
    assert f"utterance '{short}': video {trimmed} has 50 frames, but its audio lasts 2.98 s" in problems[2]
    assert validate_data_dir(grid_data) == problems[:1]  # without --check-video only the file's existence


def test_roi_features_are_frames_by_flattened_height_by_width_normalised(tmp_path, grid_data):
    scp = video_roi(grid_data, tmp_path / "roi", RoiConfig(), nj=2)
    roi = kaldiio.load_scp(str(scp))
    frames = read_dict(grid_data / "utt2num_roi_frames")
    assert sorted(roi) == sorted(frames) == sorted(read_dict(grid_data / "video.scp"))
    for utt, mat in roi.items():
        assert mat.shape == (75, 48 * 64) and mat.dtype == np.float32 and frames[utt] == "75"
    stacked = np.concatenate(list(roi.values()))
    assert abs(stacked.mean()) < 0.3 and 0.7 < stacked.std() < 1.3  # the config's mean/std are GRID's
    assert (grid_data / "roi.yaml").is_file()
    ark = tmp_path / "roi" / f"raw_roi_{grid_data.name}.1.ark"
    before = ark.stat().st_mtime_ns
    video_roi(grid_data, tmp_path / "roi", RoiConfig(), nj=2)  # a job done with the same config is skipped
    assert ark.stat().st_mtime_ns == before


def test_the_default_video_front_end_costs_under_50_mflop_per_frame():
    frontend = VideoFrontend(144, VideoFrontendConfig())
    assert flops_per_frame(frontend) == pytest.approx(31.18e6, rel=1e-3)
    out, lens = frontend(torch.zeros(2, 7, 48 * 64), torch.tensor([7, 5]))
    assert out.shape == (2, 7, 144) and lens.tolist() == [7, 5]


def test_an_fbank_model_has_no_video_front_end():
    model = ASRModel(ModelConfig.from_dict({"input_size": 40, "encoder": {"output_size": 32, "num_blocks": 1}}), 5)
    assert model.video_frontend is None and not any(k.startswith("video_frontend") for k in model.state_dict())


def test_a_lip_reading_model_trains_decodes_and_caches_its_encoder_and_audio_only_commands_refuse_it(tmp_path, grid_data):
    video_roi(grid_data, tmp_path / "roi", SMALL_ROI)
    build_token_list(grid_data / "text", tmp_path / "tokens", "word")
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump(TINY_VSR))
    exp = tmp_path / "exp"
    train(exp, config, Inputs(grid_data, grid_data, tmp_path / "tokens", None))
    assert (exp / "roi.yaml").is_file() and not (exp / "cmvn.npz").exists()

    said = decode_data_dir(exp, grid_data)
    assert sorted(said) == sorted(read_dict(grid_data / "text"))
    assert cache_encoder(exp, grid_data, tmp_path / "cache") == 1
    cache = load_cache(tmp_path / "cache")
    assert all(n == 75 for n in cache.num_frames.values())  # one encoder frame per video frame (25 Hz)
    assert cache.load(sorted(cache.num_frames)[0]).shape == (75, 32)
    for reads_audio in (lambda: export_espnet(exp, tmp_path / "espnet"), lambda: load_recognizer(exp),
                        lambda: write_pack(exp, tmp_path / "vsr.zip")):
        with pytest.raises(AsrkitError, match="reads video"):
            reads_audio()


def test_a_lip_reading_model_refuses_roi_features_of_another_size(tmp_path, grid_data):
    video_roi(grid_data, tmp_path / "roi", RoiConfig())  # 64x48, the model reads 32x24
    build_token_list(grid_data / "text", tmp_path / "tokens", "word")
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump(TINY_VSR))
    with pytest.raises(ConfigError, match="reads 32x24 ROIs, but the features .* are 64x48"):
        train(tmp_path / "exp", config, Inputs(grid_data, grid_data, tmp_path / "tokens", None))
