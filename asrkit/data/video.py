"""Video for video.scp values (utterance -> video file): gray frames decoded by ffmpeg, and the data dir checks.

A data dir of an audio-visual corpus holds `video.scp` beside `wav.scp`, one `uttid path` line per utterance (the
same ids). Frames are decoded by one ffmpeg pipe per file to yuv4mpeg with gray pixels (`-f yuv4mpegpipe -pix_fmt
gray`): its header gives width, height and frame rate, and an optional ffmpeg filter chain (`vf`: crop, scale) runs
first, inside ffmpeg. ffmpeg is installed already for audio, so PyAV is not a dependency.

A video belongs to its audio when its frame count matches the audio's length at VIDEO_FPS within
FRAME_COUNT_TOLERANCE frames: GRID s1's videos have 75 frames against 2.978 s of audio (0.55 frame off, measured on
every 5th of the 1000); 2 frames allow an encoder's rounding, and a truncated or wrong file is far off.
"""

import subprocess
from pathlib import Path
from typing import NamedTuple

import numpy as np

from asrkit.data.audio import audio_duration
from asrkit.errors import AsrkitError

VIDEO_FPS = 25  # frames per second of the videos asrkit reads (GRID's); a video at another rate is refused
FRAME_COUNT_TOLERANCE = 2  # frames a video may differ from its audio's duration x VIDEO_FPS
Y4M_MAGIC = b"YUV4MPEG2 "


class VideoError(AsrkitError):
    """A video could not be read, or does not fit its utterance; the message names the file or the utterance."""


class Video(NamedTuple):
    frames: np.ndarray  # (T, H, W) uint8 gray frames
    fps: float  # frames per second (the stream's)


def read_video(path: str, vf: str | None = None) -> Video:
    """All frames of a video file as gray uint8, after the ffmpeg filter chain `vf` (e.g. 'crop=64:48:16:28')."""
    if not Path(path).is_file():
        raise VideoError(f"no such video file: {path}")
    command = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), *(["-vf", vf] if vf else []),
               "-f", "yuv4mpegpipe", "-pix_fmt", "gray", "-"]
    result = subprocess.run(command, capture_output=True)
    if result.returncode != 0 or not result.stdout.startswith(Y4M_MAGIC):
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise VideoError(f"cannot decode video {path}: {message[-1] if message else 'no frames'}")
    return parse_y4m(result.stdout, path)


def parse_y4m(data: bytes, name: str) -> Video:
    """Frames of a gray (Cmono) yuv4mpeg stream: a header line `YUV4MPEG2 W.. H.. F.. ...`, then per frame a
    `FRAME` line and W*H bytes."""
    header, _, body = data.partition(b"\n")
    fields = {field[:1]: field[1:] for field in header.decode(errors="replace").split()[1:]}
    width, height = int(fields["W"]), int(fields["H"])
    numerator, denominator = (int(x) for x in fields["F"].split(":"))
    frames, position, size = [], 0, width * height
    while position < len(body):
        start = body.index(b"\n", position) + 1  # past the FRAME line (it may carry parameters)
        if start + size > len(body):
            raise VideoError(f"{name}: the last frame is cut short (truncated video)")
        frames.append(np.frombuffer(body, np.uint8, size, start).reshape(height, width))
        position = start + size
    if not frames:
        raise VideoError(f"{name}: no frames")
    return Video(np.stack(frames), numerator / denominator)


def frame_count_problem(utt: str, path: str, video: Video, seconds: float) -> str | None:
    """Why a video does not fit an utterance of `seconds` of audio (frame rate, frame count), or None."""
    if abs(video.fps - VIDEO_FPS) > 1e-3:
        return f"utterance '{utt}': video {path} runs at {video.fps:g} fps, not {VIDEO_FPS}"
    expected = seconds * VIDEO_FPS
    if abs(len(video.frames) - expected) > FRAME_COUNT_TOLERANCE:
        return (f"utterance '{utt}': video {path} has {len(video.frames)} frames, but its audio lasts {seconds:.2f} s "
                f"({expected:.0f} frames at {VIDEO_FPS} fps, tolerance {FRAME_COUNT_TOLERANCE})")
    return None


def video_problems(scp_path: Path, lines, durations: dict[str, float], decode: bool) -> list[str]:
    """Problems of video.scp's lines (Line tuples): a missing file always; with `decode`, a video that does not
    decode, or whose frame count does not fit its utterance's audio duration (`durations`, seconds; an utterance
    without one is not compared)."""
    problems = []
    for line in lines:
        where = f"{scp_path}:{line.number}"
        if not Path(line.value).is_file():
            problems.append(f"{where}: utterance '{line.key}': video file not found: {line.value}")
            continue
        if not decode:
            continue
        try:
            video = read_video(line.value)
        except VideoError as error:
            problems.append(f"{where}: utterance '{line.key}': {error}")
            continue
        if line.key in durations:
            problem = frame_count_problem(line.key, line.value, video, durations[line.key])
            problems += [f"{where}: {problem}"] if problem else []
    return problems


def utterance_durations(wav_scp: dict[str, str], segments: dict[str, tuple[str, float, float]] | None,
                        ) -> dict[str, float]:
    """Seconds of audio per utterance: its segment, or its whole recording (header only; unreadable ones left out)."""
    if segments is not None:
        return {utt: end - start for utt, (_, start, end) in segments.items()}
    durations = {}
    for utt, value in wav_scp.items():
        try:
            durations[utt] = audio_duration(value)
        except AsrkitError:
            continue  # an unreadable recording is wav.scp's problem, reported there
    return durations
