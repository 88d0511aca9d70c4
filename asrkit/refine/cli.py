"""`asrkit refine`: self-refinement with TTS-synthesized data (run), and what recipes draw from it afterwards: the
confidence curve against the hidden labels (curve) and the table of every arm (table)."""

from pathlib import Path

import typer

from asrkit.cliapp import make_app

app = make_app("Self-refinement with TTS (Twister): pseudo-label, train voices, synthesize, fine-tune; per round.")


@app.command("run")
def run(
    config: Path = typer.Argument(..., exists=True, dir_okay=False, help="Refine YAML (asrkit/refine/config.py)."),
    out_dir: Path = typer.Option(Path("exp/refine"), help="Gets round{r}/<stage>/, summary.tsv and config.json "
                                                         "(a re-run must keep the config; rounds may grow)."),
):
    """Every round of CONFIG: labels, tts, synth, finetune, summary, each resumable (a re-run continues)."""
    from asrkit.refine.rounds import run_refine
    from asrkit.train.loop import set_up_logging

    out_dir.mkdir(parents=True, exist_ok=True)
    set_up_logging(out_dir / "refine.log", is_main=True)
    typer.echo(f"refine run: wrote {run_refine(config, out_dir)}")


@app.command("curve")
def curve(
    labels_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="A round's labels stage dir (confidence, decode/)."),
    ref_text: Path = typer.Argument(..., exists=True, dir_okay=False, help="The hidden true labels (Kaldi text)."),
    out_dir: Path = typer.Argument(..., help="Gets curve.tsv and precision.png."),
):
    """Pseudo-label precision (exactly right utterances) and WER against the fraction accepted, by confidence."""
    from asrkit.refine.curve import write_curve

    typer.echo(f"refine curve: wrote {write_curve(labels_dir, ref_text, out_dir)}")


@app.command("table")
def table(exp_root: Path = typer.Argument(..., exists=True, file_okay=False, help="Holds <arm>/round{r}/ dirs.")):
    """Every arm's rounds in one markdown table (EXP_ROOT/table.md) and the test WER by round (wer_by_round.png)."""
    from asrkit.refine.table import write_table

    typer.echo(f"refine table: wrote {write_table(exp_root)}")
