"""`asrkit video-roi`: mouth regions of interest from DATA/video.scp, as per-frame features for a VSR model.

Each video (asrkit/data/video.py) is decoded by ffmpeg with a fixed crop (the GRID head is still, so one region
holds the mouth in every frame) and an optional scaling to `width` x `height`, then normalised:
    roi = (gray / 255 - mean) / std        (float32; mean and std of the crop on GRID s1's training videos)
and stored as one Kaldi matrix per utterance of shape (T, height * width): row t is frame t's ROI flattened row by
row (the VSR front-end, asrkit/avsr/vsr.py, reshapes it to height x width). T is the video's frame count (25 fps).

The jobs are the fbank jobs' (asrkit/data/features.py, kind ROI): job J of N writes
ROIDIR/raw_roi_<data>.J.{ark,num_frames,yaml,scp}, a job done with the same config is skipped, and the merge writes
DATA/roi.scp, DATA/utt2num_roi_frames and DATA/roi.yaml (the config, which a VSR exp dir copies as EXP/roi.yaml).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asrkit.config import load_config
from asrkit.data.datadir import DATA_ROI_CONFIG, DataDir, DataDirError, read_dict
from asrkit.data.features import FeatureKind, compute_feature_job, merge_feature_jobs
from asrkit.data.video import VIDEO_FPS, VideoError, read_video


@dataclass
class RoiConfig:
    crop_x: int = 16  # left edge of the mouth crop in the decoded frame, pixels (GRID s1: 96x96 face, mouth at x 35-68)
    crop_y: int = 28  # top edge, pixels (GRID s1: mouth at y 42-58)
    crop_width: int = 64  # pixels
    crop_height: int = 48  # pixels
    width: int = 64  # ROI width stored, pixels; other than crop_width: the crop is scaled (ffmpeg, area averaging)
    height: int = 48  # ROI height stored, pixels
    mean: float = 0.567  # subtracted from gray / 255: GRID s1's crop, over every 15th training video (60)
    std: float = 0.103  # then divided by: the same videos' standard deviation

    def frame_shift_s(self) -> float:
        """Seconds between two ROI frames (the video's frame period)."""
        return 1 / VIDEO_FPS

    def ffmpeg_filter(self) -> str:
        """The ffmpeg filter chain that cuts (and scales) the ROI out of a decoded frame."""
        crop = f"crop={self.crop_width}:{self.crop_height}:{self.crop_x}:{self.crop_y}"
        if (self.width, self.height) == (self.crop_width, self.crop_height):
            return crop
        return f"{crop},scale={self.width}:{self.height}:flags=area"


def load_roi_config(path) -> RoiConfig:
    return load_config(RoiConfig, path, "ROI")


ROI = FeatureKind("roi", "roi.scp", "utt2num_roi_frames", DATA_ROI_CONFIG, load_roi_config, "asrkit video-roi")


def roi_features(path: str, config: RoiConfig) -> np.ndarray:
    """One video's normalised ROI frames, (T, height * width) float32."""
    frames = read_video(path, config.ffmpeg_filter()).frames
    if frames.shape[1:] != (config.height, config.width):
        raise VideoError(f"{path}: the ROI is {frames.shape[2]}x{frames.shape[1]}, not {config.width}x{config.height} "
                         f"(is the crop inside the frame?)")
    roi = (frames.astype(np.float32) / 255 - config.mean) / config.std
    return roi.reshape(len(roi), -1)


def extract_roi(config: RoiConfig):
    """The ROI kind's extractor (asrkit/data/features.py Extractor): each utterance's video from DATA/video.scp."""
    def extract(data: DataDir, utt_ids: list[str]):
        video_scp = Path(data.path) / "video.scp"
        if not video_scp.is_file():
            raise DataDirError(f"{video_scp}: missing; the data dir has no videos")
        videos = read_dict(video_scp)
        for utt in utt_ids:
            if utt not in videos:
                raise DataDirError(f"{video_scp}: utterance '{utt}' has no video")
            try:
                yield utt, roi_features(videos[utt], config)
            except VideoError as error:
                raise VideoError(f"utterance '{utt}': {error}") from None
    return extract


def video_roi(data_dir: Path, roi_dir: Path, config: RoiConfig, nj: int = 1, job: int | None = None) -> Path:
    """ROI job `job` of `nj` (returns its scp), or with job None every job (each skipped when already done with this
    config) and then the merge into DATA (returns DATA/roi.scp)."""
    for j in [job] if job else range(1, nj + 1):
        scp = compute_feature_job(ROI, data_dir, roi_dir, config, extract_roi(config), nj, j)
    if job is not None:
        return scp
    merge_feature_jobs(data_dir, roi_dir, nj, ROI)
    return Path(data_dir) / ROI.scp
