"""The `asrkit refine run` YAML: what to refine, from what, and how, section by section.

Top-level keys are RefineConfig's fields; `select`, `synth`, `curate` and `finetune` are mappings of the dataclasses
below. Paths are relative to the directory refine runs in (a recipe's). Every option is checked when the file is
loaded, so a typo fails before any stage runs.
"""

from dataclasses import dataclass, field
from pathlib import Path

from asrkit.config import from_mapping, load_config
from asrkit.errors import ConfigError

# arm -> (labels come from: "pseudo" (decoded) or "true" (`true_labels`), synthetic data?, real labelled speech?)
ARMS = {
    "twister": ("pseudo", True, False),  # TTS on pseudo-labels, fine-tune on its synthetic speech
    "self_training": ("pseudo", False, True),  # fine-tune on the kept pseudo-labelled real speech itself
    "twister_self_training": ("pseudo", True, True),  # both of the above, mixed
    "topline": ("true", False, True),  # fine-tune on the real speech with its true labels
    "twister_true_labels": ("true", True, False),  # Twister with the TTS trained on the true labels
}
CONFIDENCES = ("ctc", "margin")


@dataclass
class SelectConfig:
    confidence: str = "ctc"  # "ctc": mean CTC posterior of the 1-best (decode dir `confidence`); "margin": n-best margin
    threshold: float | None = 0.9  # keep utterances whose confidence is above this (None: no threshold)
    top_fraction: float | None = None  # then keep at most this fraction of the unlabeled set, most confident first


@dataclass
class SynthConfig:
    assign: str = "round-robin"  # every: each target text by every voice; round-robin: text i by voice i mod V
    max_texts: int | None = None  # use only the first N lines of the target text (None: all)
    rate_jitter: float = 0.1  # speaking-rate factor drawn from [1-x, 1+x] per utterance
    pitch_jitter: float = 0.05  # pitch factor drawn from [1-x, 1+x] per utterance


@dataclass
class CurateConfig:
    max_wer: float = 0.0  # drop a synthetic utterance the current model re-recognises with a higher WER (0: exact)
    concat_below: float = 0.0  # seconds: synthetic utterances shorter than this are concatenated (0: none are)
    concat_count: int = 2  # how many short utterances of one speaker make one concatenated utterance
    concat_gap: float = 0.15  # seconds of silence between concatenated utterances
    speeds: list = field(default_factory=lambda: [1.0])  # sox speed factors, one copy per factor (perturb.py)
    volume: list | None = None  # [low, high] range of the volume factor drawn per utterance (None: none)
    noise: str | None = None  # additive noise: a noise data dir, or "white" (None: none)
    snr_db: float = 20.0  # SNR of that noise in dB


@dataclass
class FinetuneConfig:
    original_ratio: float = 1.0  # original training utterances per new (synthetic / real) utterance in the mix
    max_epoch: int = 5  # fine-tuning epochs per round
    lr: float = 0.0005  # Adam's peak learning rate
    warmup_steps: int = 50  # optimizer steps of linear warm-up
    batch_frames: int = 4000  # cap on padded input frames per batch
    keep_nbest: int = 2  # epochs (best by validation accuracy) averaged into the round's model
    valid_utts: int = 20  # without dev_data: utterances of the mix held out to validate


@dataclass
class RefineConfig:
    seed_exp: str  # the ASR exp dir round 1 starts from (char tokens with <space> for the TTS arms: it aligns)
    unlabeled: str  # data dir of target-domain speech (wav.scp, utt2spk); its `text`, if any, is never opened
    target_text: str  # target-domain text to synthesize, one sentence per line (Twister arms)
    tts_config: str  # FastSpeech2 YAML (asrkit tts train); refine adds `speakers: true`
    train_data: str | None = None  # the seed's labelled training data dir, mixed in by finetune.original_ratio
    dev_data: str | None = None  # small labelled target-domain dev set: ranks the fine-tuned epochs, dev WER
    true_labels: str | None = None  # Kaldi text of the unlabeled utterances: read only by the true-label arms
    decode_config: str | None = None  # decoding YAML for pseudo-labelling and re-recognition (default: defaults)
    arm: str = "twister"  # one of ARMS
    rounds: int = 1  # refinement rounds; round r starts from round r-1's model
    seed: int = 0  # seeds the mix sample, synthesis jitter and perturbation (and training, with the TTS/ASR seeds)
    select: dict = field(default_factory=dict)  # SelectConfig
    synth: dict = field(default_factory=dict)  # SynthConfig
    curate: dict = field(default_factory=dict)  # CurateConfig
    finetune: dict = field(default_factory=dict)  # FinetuneConfig

    @classmethod
    def load(cls, path) -> "RefineConfig":
        config = load_config(cls, path, "refine")
        sections = {"select": SelectConfig, "synth": SynthConfig, "curate": CurateConfig, "finetune": FinetuneConfig}
        for name, section in sections.items():
            setattr(config, name, from_mapping(section, getattr(config, name), f"{path}: {name}", name))
        config.check(path)
        return config

    def check(self, path):
        if self.arm not in ARMS:
            raise ConfigError(f"{path}: arm: {self.arm} is not one of {', '.join(ARMS)}")
        if self.labels_from == "true" and not self.true_labels:
            raise ConfigError(f"{path}: arm {self.arm} needs true_labels (a text file of the unlabeled utterances)")
        if self.select.confidence not in CONFIDENCES:
            raise ConfigError(f"{path}: select.confidence: {self.select.confidence} is not one of {', '.join(CONFIDENCES)}")
        if self.rounds < 1:
            raise ConfigError(f"{path}: rounds: {self.rounds}; at least one")
        for name in ("seed_exp", "unlabeled", *(("target_text", "tts_config") if self.synthetic else ())):
            if not Path(getattr(self, name)).exists():
                raise ConfigError(f"{path}: {name}: {getattr(self, name)} does not exist")

    @property
    def labels_from(self) -> str:
        return ARMS[self.arm][0]

    @property
    def synthetic(self) -> bool:
        """Does the arm train a TTS and fine-tune on its speech?"""
        return ARMS[self.arm][1]

    @property
    def real(self) -> bool:
        """Does the arm fine-tune on the labelled (pseudo or true) real speech?"""
        return ARMS[self.arm][2]
