"""The VSR front-end: mouth-ROI frames -> one vector per video frame, the input of an ASR model with
`frontend: video_roi` (asrkit/asr/model.py), so `asrkit train`, `decode` and `cache-encoder` serve lip reading.

Input: (B, T, height * width) normalised ROI frames (asrkit/avsr/roi.py), zero-padded past each utterance's end.
A 3-D convolution over (time, height, width) (kernel temporal_kernel x 7 x 7, stride 1 x 2 x 2: each output sees
5 frames, 200 ms) + batch norm + ReLU + 3 x 3 spatial max-pooling (stride 2), then per frame a ResNet-style 2-D trunk
(BasicBlocks; each stage after the first halves height and width), global average pooling and a linear layer to the
encoder's input size (model.input_size). No subsampling in time: one output per video frame, 25 Hz, the rate of the
GRID audio encoder's outputs (fbank at 100 Hz, 4x subsampling).

Cost: flops_per_frame() counts 2 x the multiply-adds of every convolution and linear layer per video frame. The
default (48 x 64 ROI, channels 24/48/96, 2 blocks a stage, output 144) costs 31.2 MFLOP a frame (the issue's budget
is 50; channels 16/32/64 cost 15.9, 32/64/128 51.4); tests/test_avsr_video.py checks the figure.
"""

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class VideoFrontendConfig:
    height: int = 48  # ROI height in pixels (roi.yaml's height: training refuses ROI features of another size)
    width: int = 64  # ROI width in pixels (roi.yaml's width)
    channels: list = field(default_factory=lambda: [24, 48, 96])  # per ResNet stage; the 3-D conv gives channels[0]
    blocks: int = 2  # BasicBlocks per stage
    temporal_kernel: int = 5  # video frames the 3-D convolution sees (odd: centred on the frame)


class BasicBlock(nn.Module):
    """ResNet's two 3 x 3 convolutions with a shortcut (a strided 1 x 1 convolution where the shape changes)."""

    def __init__(self, inputs: int, outputs: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True),
            nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False), nn.BatchNorm2d(outputs))
        self.shortcut = nn.Identity() if stride == 1 and inputs == outputs else nn.Sequential(
            nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


class VideoFrontend(nn.Module):
    def __init__(self, output_size: int, config: VideoFrontendConfig):
        super().__init__()
        self.config = config
        first, k = config.channels[0], config.temporal_kernel
        self.stem = nn.Sequential(
            nn.Conv3d(1, first, (k, 7, 7), (1, 2, 2), (k // 2, 3, 3), bias=False), nn.BatchNorm3d(first),
            nn.ReLU(inplace=True), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)))
        blocks, inputs = [], first
        for stage, channels in enumerate(config.channels):
            for block in range(config.blocks):
                blocks.append(BasicBlock(inputs, channels, 2 if stage > 0 and block == 0 else 1))
                inputs = channels
        self.trunk = nn.Sequential(*blocks)
        self.out = nn.Linear(inputs, output_size)

    def forward(self, roi: torch.Tensor, lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, height * width) ROI frames -> (B, T, output_size); the lengths are unchanged."""
        batch, frames, _ = roi.shape
        x = self.stem(roi.reshape(batch, 1, frames, self.config.height, self.config.width))  # (B, C, T, H', W')
        x = x.transpose(1, 2).flatten(0, 1)  # (B * T, C, H', W'): the trunk sees each frame alone
        x = self.trunk(x).mean(dim=(2, 3))
        return self.out(x).reshape(batch, frames, -1), lens


def flops_per_frame(frontend: VideoFrontend, frames: int = 8) -> float:
    """FLOPs (2 x multiply-adds of the convolutions and linear layers) per video frame, counted on one utterance of
    `frames` frames; batch norm, ReLU and pooling are left out (a few percent)."""
    macs = []

    def count(module, inputs, output):
        if isinstance(module, (nn.Conv2d, nn.Conv3d)):
            per_output = module.in_channels // module.groups * torch.tensor(module.kernel_size).prod().item()
            macs.append(output.numel() * per_output)
        elif isinstance(module, nn.Linear):
            macs.append(output.numel() * module.in_features)

    handles = [m.register_forward_hook(count) for m in frontend.modules()
               if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.Linear))]
    try:
        with torch.no_grad():
            frontend.eval()(torch.zeros(1, frames, frontend.config.height * frontend.config.width),
                            torch.tensor([frames]))
    finally:
        for handle in handles:
            handle.remove()
    return 2 * sum(macs) / frames
