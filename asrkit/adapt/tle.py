"""The text-to-latent encoder (TLE) of WhisTLE (arXiv 2509.10452): a VAE from an ASR model's token ids to frames
that look like its speech encoder's outputs, so that its decoder can be fine-tuned on text alone.

    tokens (L) -> embedding + Transformer text encoder -> per-token posterior q(z_l | text) = N(mu_l, sigma_l)
    length model: log T = log L + log_rate + mean over tokens of a per-token correction, T the encoder frames;
    log_rate (a buffer) is the training data's mean log frames per token, so T starts right on average
    z (L x latent_dim) -> frame queries: frame t starts from the state of token floor((t + 1/2) L / T) plus a sinusoidal
    position -> Transformer decoder (self-attention over frames, cross-attention to z) -> T x D frames

z is per token, not global: q(z|text) sees only the text, so z is the decoder's only path to the content, and one
global vector would have to squeeze a whole sentence through it; per-token latents keep the content addressable by
the frame decoder's cross-attention (as the ASR decoder addresses encoder frames), and their spread models how each
token's frames vary between utterances. The uniform token-to-frame start is the one alignment the text gives without
durations; cross-attention refines it.

Training (teacher-forced with the true T) minimises
    reconstruction (config.recon: l1 or mse over the true frames) + beta_t * KL + length_weight * (log T_hat - log T)^2,
beta_t = beta * min(1, steps / anneal_steps) (linear annealing from 0), and the KL per latent dimension (its mean
over the batch's tokens) counts at least free_bits nats, so dimensions below that get no pull towards the prior and
the posterior does not collapse to it. The step counter is a buffer of the model, so a resumed run anneals on.

L1 or MSE, measured (2026-11-30, GRID s1: a tiny word model, encoder output 32, trained 30 epochs on 300 utterances,
valid accuracy 0.45; TLEs with d_model 64, 2+2 layers, latent_dim 8, 25 epochs on 270 of them, 30 held out): L1
training gave held-out L1 0.268 / MSE 0.240, MSE training L1 0.285 / MSE 0.222, and the base decoder read both TLEs'
latents with the same CER, 70.2 % (76.1 % WER; on the real encoder outputs 80.2 % CER). Each loss wins its own metric
by 6-8 % and ties on the one that matters, so L1 stays the default: less pulled by the few large-valued frames.
"""

import math
from dataclasses import dataclass

import torch
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask
from torch import nn

from asrkit.errors import ConfigError

RECON_LOSSES = ("l1", "mse")


@dataclass
class TLEConfig:
    d_model: int = 128  # width of the text encoder, the latents' projection and the frame decoder
    heads: int = 2  # attention heads in every Transformer layer
    text_layers: int = 2  # Transformer encoder layers over the tokens
    frame_layers: int = 2  # Transformer decoder layers over the frames (self- and cross-attention)
    ff_units: int = 256  # feed-forward width of every Transformer layer
    dropout: float = 0.1  # dropout inside the Transformer layers (training only)
    latent_dim: int = 16  # size of each token's latent z_l
    recon: str = "l1"  # reconstruction loss: l1 or mse, per frame element (the measured choice: module docstring)
    beta: float = 0.05  # weight of the KL term after annealing
    anneal_steps: int = 500  # optimizer steps over which the KL weight rises linearly from 0 to beta
    free_bits: float = 0.1  # nats per latent dimension below which the KL is not penalised
    length_weight: float = 1.0  # weight of the length model's squared log-frame-count error

    def check(self, where: str):
        if self.recon not in RECON_LOSSES:
            raise ConfigError(f"{where}: recon: {self.recon} is not one of {', '.join(RECON_LOSSES)}")
        if self.d_model % self.heads:
            raise ConfigError(f"{where}: d_model {self.d_model} is not a multiple of heads {self.heads}")


def sinusoids(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal encodings (..., dim) of integer positions (...)."""
    freqs = torch.exp(torch.arange(0, dim, 2, device=positions.device) * (-math.log(10000.0) / dim))
    angles = positions.unsqueeze(-1).float() * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=-1)[..., :dim]


class TLE(nn.Module):
    def __init__(self, config: TLEConfig, vocab_size: int, out_size: int):
        super().__init__()
        self.config = config
        d = config.d_model
        self.embed = nn.Embedding(vocab_size, d)
        layer = dict(d_model=d, nhead=config.heads, dim_feedforward=config.ff_units, dropout=config.dropout,
                     batch_first=True, norm_first=True)
        self.text_encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer), config.text_layers,
                                                  enable_nested_tensor=False)
        self.posterior = nn.Linear(d, 2 * config.latent_dim)
        self.length = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 1))
        nn.init.zeros_(self.length[-1].weight)  # the correction starts at 0: T = L x the data's mean rate
        nn.init.zeros_(self.length[-1].bias)
        self.register_buffer("log_rate", torch.zeros(()))  # mean log(encoder frames / tokens) of the training data
        self.from_latent = nn.Linear(config.latent_dim, d)
        self.frame_decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**layer), config.frame_layers)
        self.out = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, out_size))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))  # optimizer steps trained (KL annealing)

    def encode_text(self, ys: torch.Tensor, ys_lens: torch.Tensor):
        """Posterior mean and log-variance (B, L, latent_dim) and the predicted frame count (B,) of padded token
        ids; padding ids may be anything (they are masked)."""
        pad = make_pad_mask(ys_lens, maxlen=ys.size(1)).to(ys.device)
        positions = torch.arange(ys.size(1), device=ys.device).expand_as(ys)
        h = self.embed(ys.clamp(min=0)) + sinusoids(positions, self.config.d_model)
        h = self.text_encoder(h, src_key_padding_mask=pad)
        mu, logvar = self.posterior(h).chunk(2, dim=-1)
        correction = self.length(h).squeeze(-1).masked_fill(pad, 0.0).sum(1) / ys_lens
        frames = (ys_lens.float().log() + self.log_rate + correction).exp()
        return mu, logvar, frames.clamp(min=1.0)

    def decode(self, z: torch.Tensor, ys_lens: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
        """Frames (B, max(lens), D) from latents z (B, L, latent_dim) of ys_lens tokens, lens[b] frames each."""
        memory = self.from_latent(z)
        t = torch.arange(int(lens.max()), device=z.device)
        # frame t of utterance b starts from token floor((t + 1/2) L_b / T_b)
        index = ((t.unsqueeze(0) + 0.5) * ys_lens.unsqueeze(1) / lens.unsqueeze(1)).long()
        index = torch.minimum(index, (ys_lens - 1).unsqueeze(1))
        queries = torch.gather(memory, 1, index.unsqueeze(-1).expand(-1, -1, memory.size(-1)))
        queries = queries + sinusoids(t, self.config.d_model)
        out = self.frame_decoder(queries, memory, tgt_key_padding_mask=make_pad_mask(lens, maxlen=len(t)).to(z.device),
                                 memory_key_padding_mask=make_pad_mask(ys_lens, maxlen=z.size(1)).to(z.device))
        return self.out(out)

    def forward(self, ys, ys_lens, target, target_lens) -> dict[str, torch.Tensor]:
        """The training loss against true frames target (B, T, D) of target_lens frames, and its parts."""
        mu, logvar, frames = self.encode_text(ys, ys_lens)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        pred = self.decode(z, ys_lens, target_lens)
        valid = ~make_pad_mask(target_lens, maxlen=target.size(1)).to(target.device)
        diff = (pred - target)[valid]
        l1, mse = diff.abs().mean(), diff.pow(2).mean()
        kl = self._kl_per_dim(mu, logvar, ys_lens)
        kl_loss = kl.clamp(min=self.config.free_bits).sum()
        length = (frames.log() - target_lens.float().log()).pow(2).mean()
        beta = self.config.beta * min(1.0, float(self.steps) / max(self.config.anneal_steps, 1))
        if self.training:
            self.steps += 1
        recon = l1 if self.config.recon == "l1" else mse
        loss = recon + beta * kl_loss + self.config.length_weight * length
        rel = ((frames - target_lens) / target_lens).abs().mean()
        return dict(loss=loss, recon=recon.detach(), l1=l1.detach(), mse=mse.detach(), kl=kl.sum().detach(),
                    length_rel_err=rel.detach(), beta=torch.tensor(beta))

    def _kl_per_dim(self, mu, logvar, ys_lens) -> torch.Tensor:
        """KL(q(z_l|text) || N(0, I)) per latent dimension, averaged over the batch's real tokens."""
        valid = ~make_pad_mask(ys_lens, maxlen=mu.size(1)).to(mu.device)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
        return kl[valid].mean(0)

    @torch.no_grad()
    def generate(self, ys, ys_lens, sample: bool = True, lens: torch.Tensor | None = None):
        """Latents (B, T, D) and their lengths for padded token ids: z drawn from the posterior (or its mean), T from
        the length model (or `lens`)."""
        mu, logvar, frames = self.encode_text(ys, ys_lens)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if sample else mu
        lens = frames.round().long() if lens is None else lens
        return self.decode(z, ys_lens, lens), lens
