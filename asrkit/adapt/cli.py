"""`asrkit adapt`: text-only domain adaptation stages: train a text-to-latent VAE, fine-tune a decoder."""

from pathlib import Path
from typing import Optional

import typer

from asrkit.cliapp import make_app

app = make_app("Text-only domain adaptation: tle-train (a text-to-latent VAE), run (decoder fine-tune by tts, tle or "
               "tle+tts).")
ExistingExp = typer.Argument(..., exists=True, file_okay=False, help="Trained ASR exp dir.")


@app.command("tle-train")
def tle_train(
    exp_dir: Path = ExistingExp,
    data_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Paired source data dir (text; features "
                                                                            "or audio) the model was trained on."),
    out_dir: Path = typer.Argument(..., help="TLE exp dir to write (kind: tle)."),
    config: Path = typer.Option(..., exists=True, help="TLE YAML: `model` (asrkit/adapt/tle.py TLEConfig), heldout, "
                                                       "training options."),
    cache_dir: Optional[Path] = typer.Option(None, help="Encoder-output cache of DATA_DIR (default OUT_DIR/cache)."),
    resume: bool = typer.Option(False, help="Continue from OUT_DIR/checkpoint.pth if it exists (refused when "
                                            "that run had other options or inputs; decode and the cache dir may "
                                            "change); a finished run of the same config and encoder is reused as it "
                                            "is."),
):
    """Train a text-to-latent VAE against EXP's frozen encoder outputs on DATA; OUT/summary.json reports it on the
    held-out utterances (reconstruction, length error, the unadapted decoder's CER reading its latents)."""
    from asrkit.adapt.tle_train import train_tle

    summary = train_tle(exp_dir, data_dir, out_dir, config, cache_dir, resume)
    typer.echo(f"adapt tle-train: {out_dir}: held-out recon L1 {summary['recon_l1']}, length error "
               f"{summary['length_rel_err_mean']:.1%}, decoder CER on TLE latents {summary['tle_cer']} % "
               f"(on real encoder outputs {summary['real_cer']} %)")


@app.command("run")
def run(
    base_exp: Path = ExistingExp,
    out_dir: Path = typer.Argument(..., help="Adapted exp dir to write (an ordinary asr exp dir)."),
    method: str = typer.Option(..., help="tts, tle or tle+tts: which arms train the decoder besides source data."),
    config: Path = typer.Option(..., exists=True, help="Adaptation YAML (asrkit/adapt/finetune.py AdaptConfig: "
                                                       "steps, mix, lr, patience, ...)."),
    source_data: Path = typer.Option(..., exists=True, file_okay=False, help="The base's paired training data dir."),
    dev_data: Path = typer.Option(..., exists=True, file_okay=False, help="Source dev data dir (early stopping, WER)."),
    text: Optional[Path] = typer.Option(None, exists=True, dir_okay=False, help="Target text, one sentence a line "
                                                                                "(tle, tle+tts)."),
    tle: Optional[Path] = typer.Option(None, exists=True, file_okay=False, help="TLE exp dir trained for BASE_EXP "
                                                                                "(tle, tle+tts)."),
    synth_data: Optional[Path] = typer.Option(None, exists=True, file_okay=False, help="Data dir of synthesized target "
                                                                                       "text (tts, tle+tts)."),
    cache_dir: Optional[Path] = typer.Option(None, help="Encoder-output caches (default OUT_DIR/cache); share one "
                                                        "between methods of the same base."),
    unk: bool = typer.Option(False, help="Map target-text tokens outside the token list to <unk> (counted) instead "
                                         "of stopping at the first."),
    resume: bool = typer.Option(False, help="Continue from OUT_DIR/checkpoint.pth if it exists (refused when "
                                            "that run had other options or inputs; steps, patience, keep_nbest, "
                                            "decode and the cache dir may change)."),
):
    """Fine-tune BASE_EXP's decoder (and DeCRED heads) on target text, encoder and CTC frozen; OUT/summary.json
    gives the source dev WER before and after."""
    from asrkit.adapt.finetune import Inputs, adapt

    summary = adapt(base_exp, out_dir, method, config, Inputs(source_data, dev_data, text, tle, synth_data, cache_dir),
                    unk, resume)
    typer.echo(f"adapt run: {out_dir}: {method}, {summary['epochs']} epochs; source dev WER "
               f"{summary['dev_wer_before']} -> {summary['dev_wer_after']} %")
