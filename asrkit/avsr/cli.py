"""`asrkit avsr`: Omni-AVSR stages on cached encoder outputs: train (ASR, VSR, AVSR at once), decode (one task at
one audio and one video rate)."""

from pathlib import Path
from typing import Optional

import typer

from asrkit.cliapp import make_app

app = make_app("Omni-AVSR: one LLM-backed model for ASR, VSR and AVSR on cached encoder outputs.")
ExistingDir = typer.Argument(..., exists=True, file_okay=False, help="Kaldi-style data dir (its text).")
CACHE_HELP = "`asrkit cache-encoder` output dir"
AUDIO_HELP = (f"{CACHE_HELP} of the audio encoder, or a dir of them, one per noise condition (clean/, "
              "babble_snr0/, ...): each training step draws one")


@app.command()
def train(
    config: Path = typer.Option(..., exists=True, dir_okay=False, help="AVSR training YAML (model, llm, ...)."),
    exp_dir: Path = typer.Option(..., help="Experiment dir."),
    train_data: Path = typer.Option(..., exists=True, file_okay=False, help="Data dir whose text is trained on."),
    train_audio: Path = typer.Option(..., exists=True, file_okay=False, help=AUDIO_HELP + "."),
    train_video: Path = typer.Option(..., exists=True, file_okay=False, help=f"{CACHE_HELP} of the video encoder."),
    valid_data: Path = typer.Option(..., exists=True, file_okay=False),
    valid_audio: Path = typer.Option(..., exists=True, file_okay=False,
                                     help=f"{CACHE_HELP}, or a dir of them with one named clean/."),
    valid_video: Path = typer.Option(..., exists=True, file_okay=False),
    lora_variant: Optional[str] = typer.Option(None, help="s, t or st: overrides the YAML's model.lora.variant (one "
                                                           "YAML serves the three runs of a recipe)."),
    resume: bool = typer.Option(False, help="Continue from EXP_DIR/checkpoint.pth if it exists "
                                "(refused when that run had other options or inputs; max_epoch, patience and "
                                "keep_nbest may change)."),
):
    """Train projectors, marker embeddings and LoRA adapters of a frozen LLM for ASR, VSR and AVSR at once.

    Each step draws one audio and one video pooling rate (and one audio copy), shared by the three task passes.
    Model files hold only the trained tensors; EXP_DIR/config.yaml names the LLM (path and sha256).
    """
    from asrkit.avsr.train import train as run_training

    paths = {"train_data": train_data, "train_audio": train_audio, "train_video": train_video,
             "valid_data": valid_data, "valid_audio": valid_audio, "valid_video": valid_video}
    average = run_training(exp_dir, config, paths, resume=resume, lora_variant=lora_variant)
    typer.echo(f"avsr train: wrote {average}")


@app.command()
def decode(
    exp_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained AVSR exp dir."),
    data_dir: Path = ExistingDir,
    out_dir: Path = typer.Argument(..., help="Decode dir: gets text, score, cost.json."),
    task: str = typer.Option(..., help="asr (audio only), vsr (video only) or avsr (both)."),
    audio: Optional[Path] = typer.Option(None, exists=True, file_okay=False, help=f"{CACHE_HELP} of the audio encoder "
                                                                                 "(asr, avsr)."),
    video: Optional[Path] = typer.Option(None, exists=True, file_okay=False, help=f"{CACHE_HELP} of the video encoder "
                                                                                 "(vsr, avsr)."),
    audio_rate: Optional[int] = typer.Option(None, min=1, help="Audio pooling rate (default: the model's finest)."),
    video_rate: Optional[int] = typer.Option(None, min=1, help="Video pooling rate (default: the model's finest)."),
    config: Optional[Path] = typer.Option(None, exists=True, help="Decoding YAML (beam_size, max_tokens, batch_size)."),
    model: str = typer.Option("valid.acc.ave.pth", help="Model file inside EXP_DIR."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
):
    """Beam search for one task at one audio and one video rate; `asrkit score OUT_DIR DATA_DIR` scores it."""
    from asrkit.avsr.decode import AVSRDecodeConfig, decode_data_dir, load_decode_config
    from asrkit.avsr.model import MODALITIES, TASKS
    from asrkit.errors import AsrkitError
    from asrkit.expdir import load_avsr

    if task not in TASKS:
        raise AsrkitError(f"--task {task}: not one of {', '.join(TASKS)}")
    caches = {m: path for m, path in (("audio", audio), ("video", video)) if path is not None}
    lacking = [m for m in MODALITIES[task] if m not in caches]
    if lacking:
        raise AsrkitError(f"--task {task} reads {' and '.join(MODALITIES[task])}: give --{lacking[0]}")
    avsr = load_avsr(exp_dir, model).to(device)
    rates = {"audio": audio_rate or avsr.config.audio_rates[0], "video": video_rate or avsr.config.video_rates[0]}
    decode_config = load_decode_config(config) if config else AVSRDecodeConfig()
    count = decode_data_dir(avsr, data_dir, caches, task, rates, decode_config, out_dir)
    typer.echo(f"avsr decode: wrote {out_dir}/text ({count} utterances)")
