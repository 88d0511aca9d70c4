"""The Omni-AVSR model (arXiv 2511.07253): cached audio and video encoder outputs, average-pooled in time at one of
several rates, projected per rate into the embedding space of a frozen causal LLM adapted with LoRA; one model for
ASR (audio only), VSR (video only) and AVSR (both).

Pooling at rate r averages windows of r frames: an utterance of T frames gives ceil(T / r) tokens, the last one the
mean of the T mod r frames left over (when that is not 0); padding frames of a batch never enter a mean.
Prompt, per utterance (`markers` are 4 trainable embeddings, not tokens of the LLM's vocabulary):
    <audio> a_1 … a_n </audio> <video> v_1 … v_m </video> {instruction of the task} {transcript} EOS
asr leaves out the video part, vsr the audio part. The loss (cross-entropy) and the accuracy are over the transcript
tokens and EOS only, and the LM head runs only at the positions that predict them.
LoRA (peft) on `lora.targets` of every kept layer: variant `s` one shared adapter, `t` one adapter per task (the
task's alone is active), `st` the task's and the shared one active together.

The LLM is deliberately not a submodule: model.parameters() and model.state_dict() hold only what trains
(projectors `projectors.<modality><rate>`, `markers`, and the LoRA matrices, registered again as `lora.<layer>`),
so the training loop optimises and saves exactly those, and the LLM's weights, embeddings included, cannot change.
The model moves the LLM along in .to()/.cuda() and switches its mode in .train()/.eval().
"""

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from asrkit.errors import ConfigError

TASKS = ("asr", "vsr", "avsr")
MODALITIES = {"asr": ("audio",), "vsr": ("video",), "avsr": ("audio", "video")}
VARIANTS = {"s": ("shared",), "t": TASKS, "st": (*TASKS, "shared")}
DEFAULT_INSTRUCTIONS = {
    "asr": "Transcribe the speech into text.",
    "vsr": "Transcribe the lip movements into text.",
    "avsr": "Transcribe the speech and the lip movements into text.",
}


@dataclass
class LoraOptions:
    variant: str = "st"  # s: one shared adapter; t: one per task; st: the task's and a shared one together
    rank: int = 8  # LoRA rank
    alpha: float = 16.0  # LoRA scaling numerator (the update is alpha / rank · B A x)
    dropout: float = 0.05  # dropout on the LoRA branch's input while training
    targets: list = field(default_factory=lambda: ["q_proj", "v_proj"])  # module names in each layer to adapt


@dataclass
class ModelConfig:
    audio_dim: int  # width of the audio encoder's cached outputs (the trainer reads it off the cache)
    video_dim: int  # width of the video encoder's cached outputs
    audio_rates: list = field(default_factory=lambda: [2, 8])  # audio pooling rates (encoder frames per token)
    video_rates: list = field(default_factory=lambda: [2, 5])  # video pooling rates
    projector_hidden: int = 1024  # hidden width of each rate's Linear-ReLU-Linear projector
    lora: dict = field(default_factory=dict)  # LoraOptions
    instructions: dict = field(default_factory=lambda: dict(DEFAULT_INSTRUCTIONS))  # prompt text per task

    @classmethod
    def from_dict(cls, conf: dict, where: str = "model") -> "ModelConfig":
        from asrkit.config import from_mapping

        config = from_mapping(cls, conf, where, "AVSR model")
        lora = from_mapping(LoraOptions, config.lora, f"{where}.lora", "LoRA")
        if lora.variant not in VARIANTS:
            raise ConfigError(f"{where}.lora.variant: {lora.variant} is not one of {', '.join(VARIANTS)}")
        if set(config.instructions) != set(TASKS):
            raise ConfigError(f"{where}.instructions: needs exactly the tasks {', '.join(TASKS)}")
        rates = [*config.audio_rates, *config.video_rates]
        if any(r < 1 for r in rates) or not config.audio_rates or not config.video_rates:
            raise ConfigError(f"{where}: audio_rates and video_rates must be non-empty lists of rates >= 1")
        return config

    @property
    def lora_options(self) -> LoraOptions:
        return LoraOptions(**self.lora)


def pool(x: torch.Tensor, lens: torch.Tensor, rate: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Average pooling in time: (B, T, D) with lengths -> (B, ceil(T / rate), D) and lengths ceil(lens / rate)."""
    batch, frames, dim = x.shape
    tokens = -(-frames // rate)
    padded = F.pad(x, (0, 0, 0, tokens * rate - frames))
    mask = (torch.arange(tokens * rate, device=x.device)[None] < lens[:, None].to(x.device)).to(x.dtype)
    sums = (padded * mask[..., None]).view(batch, tokens, rate, dim).sum(2)
    counts = mask.view(batch, tokens, rate).sum(2).clamp(min=1)
    return sums / counts[..., None], (lens + rate - 1) // rate


class Projector(nn.Sequential):
    """Linear -> ReLU -> Linear: encoder width to the LLM's embedding width."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int):
        super().__init__(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


@dataclass
class Prompt:
    """A batch of prompts as embeddings, right-padded."""

    embeds: torch.Tensor  # (B, L, width)
    lens: torch.Tensor  # (B,) prompt lengths (prefix, plus the transcript when teacher-forcing)
    prefix_lens: torch.Tensor  # (B,) lengths up to and including the instruction


class AVSRModel(nn.Module):
    def __init__(self, config: ModelConfig, llm, tokenizer):
        super().__init__()
        from peft import LoraConfig, get_peft_model

        self.config, self.tokenizer = config, tokenizer
        width = llm.config.hidden_size
        rates = [("audio", r, config.audio_dim) for r in config.audio_rates] + \
                [("video", r, config.video_dim) for r in config.video_rates]
        self.projectors = nn.ModuleDict({f"{m}{r}": Projector(dim, config.projector_hidden, width)
                                         for m, r, dim in rates})
        self.markers = nn.Parameter(torch.randn(4, width) * llm.get_input_embeddings().weight.float().std())
        options = config.lora_options
        names = {name.rpartition(".")[2] for name, _ in llm.named_modules()}
        if not options.targets or set(options.targets) - names:
            raise ConfigError(f"model.lora.targets: {options.targets}: the LLM's layers have no module named "
                              f"{sorted(set(options.targets) - names) or 'at all'}")
        lora = LoraConfig(r=options.rank, lora_alpha=options.alpha, lora_dropout=options.dropout,
                          target_modules=list(options.targets))
        adapters = VARIANTS[options.variant]
        peft_model = get_peft_model(llm, lora, adapter_name=adapters[0])
        for name in adapters[1:]:
            peft_model.add_adapter(name, lora)
        self._llm = (peft_model,)  # a tuple: not a submodule (module docstring)
        self.lora = nn.ModuleDict({name.replace(".", "_"): nn.ModuleDict(
            {"lora_A": m.lora_A, "lora_B": m.lora_B, "lora_dropout": m.lora_dropout})
            for name, m in peft_model.named_modules() if hasattr(m, "lora_A") and isinstance(m.lora_A, nn.ModuleDict)})
        self.lora.requires_grad_(True)
        self.instruction_ids = {task: tokenizer(text, add_special_tokens=False)["input_ids"]
                                for task, text in config.instructions.items()}
        self.eos_id = tokenizer.eos_token_id

    @property
    def llm(self):
        """The LLM with its LoRA adapters (a peft model)."""
        return self._llm[0]

    def _apply(self, fn, *args, **kwargs):
        self.llm._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True):
        self.llm.train(mode)
        return super().train(mode)

    def use_adapters(self, task: str):
        """Activate the adapters of `task` under the variant; what trains stays as it was (peft would change it)."""
        variant = self.config.lora_options.variant
        names = ["shared"] if variant == "s" else [task] + (["shared"] if variant == "st" else [])
        flags = [p.requires_grad for p in self.lora.parameters()]
        self.llm.base_model.set_adapter(names)
        for p, flag in zip(self.lora.parameters(), flags):
            p.requires_grad_(flag)

    def encode_targets(self, texts: list[str]) -> list[list[int]]:
        """Transcripts as LLM token ids (a leading space, as the transcript follows the instruction), without EOS."""
        return [self.tokenizer(" " + text, add_special_tokens=False)["input_ids"] for text in texts]

    def embed_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        return self.llm.get_input_embeddings()(ids)

    def _modality(self, name: str, feats, lens, rate: int) -> list[torch.Tensor]:
        key = f"{name}{rate}"
        if key not in self.projectors:
            rates = [k[len(name):] for k in self.projectors if k.startswith(name)]
            raise ConfigError(f"{name} rate {rate}: the model has projectors for rates {', '.join(rates)} only")
        pooled, pooled_lens = pool(feats.to(self.markers.device), lens, rate)
        projected = self.projectors[key](pooled)
        return [projected[i, : int(n)] for i, n in enumerate(pooled_lens)]

    def prompt(self, task: str, inputs: dict, rates: dict, targets: list[list[int]] | None = None) -> Prompt:
        """The task's prompts for a batch: inputs {"audio": (feats, lens), "video": (feats, lens)} (the modalities the
        task reads), rates {"audio": r, "video": r}; with targets, the transcript tokens follow the instruction."""
        parts = {m: self._modality(m, *inputs[m], rates[m]) for m in MODALITIES[task]}
        batch = len(next(iter(parts.values())))
        device, dtype = self.markers.device, self.llm.get_input_embeddings().weight.dtype
        instruction = self.embed_tokens(torch.tensor(self.instruction_ids[task], device=device))
        sequences, prefix_lens = [], []
        for i in range(batch):
            pieces = []
            for m, (start, end) in (("audio", (0, 1)), ("video", (2, 3))):
                if m in parts:
                    pieces += [self.markers[start:start + 1], parts[m][i], self.markers[end:end + 1]]
            pieces = [p.to(dtype) for p in pieces] + [instruction]
            prefix_lens.append(sum(len(p) for p in pieces))
            if targets is not None:
                pieces.append(self.embed_tokens(torch.tensor(targets[i], dtype=torch.long, device=device)))
            sequences.append(torch.cat(pieces))
        lens = torch.tensor([len(s) for s in sequences], device=device)
        embeds = nn.utils.rnn.pad_sequence(sequences, batch_first=True)
        return Prompt(embeds, lens, torch.tensor(prefix_lens, device=device))

    def forward(self, task: str, inputs: dict, rates: dict, targets: list[list[int]]) -> dict:
        """Teacher-forced loss and accuracy of `task` on the transcript tokens and EOS."""
        self.use_adapters(task)
        prompt = self.prompt(task, inputs, rates, targets)
        mask = torch.arange(prompt.embeds.shape[1], device=prompt.lens.device)[None] < prompt.lens[:, None]
        hidden = self.llm.get_decoder()(inputs_embeds=prompt.embeds, attention_mask=mask.long()).last_hidden_state
        # position p predicts token p + 1: the last instruction token predicts the first transcript token
        rows = torch.cat([torch.full((len(t) + 1,), i) for i, t in enumerate(targets)]).to(hidden.device)
        cols = torch.cat([torch.arange(len(t) + 1, device=hidden.device) + int(p) - 1
                          for t, p in zip(targets, prompt.prefix_lens)])
        logits = self.llm.get_output_embeddings()(hidden[rows, cols]).float()
        gold = torch.tensor([tok for t in targets for tok in [*t, self.eos_id]], device=logits.device)
        return {"loss": F.cross_entropy(logits, gold), "acc": (logits.argmax(-1) == gold).float().mean()}


def build_avsr(config: dict):
    """The AVSR model an exp dir's config (model, llm) describes: the LLM loaded frozen, the rest untrained."""
    from asrkit.avsr.llm import LLMConfig, load_llm
    from asrkit.config import from_mapping

    llm_config = from_mapping(LLMConfig, config.get("llm", {}), "llm", "LLM")
    llm, tokenizer = load_llm(llm_config)
    return AVSRModel(ModelConfig.from_dict(config["model"]), llm, tokenizer)
