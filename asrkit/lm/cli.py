"""`asrkit lm`: language models over an ASR model's tokens, for shallow fusion (`lm:` and `lm_weight:` in a decode
config): train one on a text, measure its perplexity."""

from pathlib import Path
from typing import Optional

import typer

from asrkit.cliapp import make_app

app = make_app("Language models over an ASR model's tokens: train, ppl. Fused in decoding by the decode config's "
               "`lm:` (the LM exp dir) and `lm_weight:`.")
PLAIN = typer.Option(False, help="TEXT is plain text, one sentence per line (empty lines skipped), not Kaldi text.")


@app.command("train")
def train(
    text: Path = typer.Argument(..., exists=True, help="Data dir (its `text`) or Kaldi text file (uttid words) to "
                                                       "train on; with --plain, one sentence per line."),
    token_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="The ASR model's token dir, or its exp "
                                                                             "dir: the LM predicts those tokens."),
    exp_dir: Path = typer.Argument(..., help="LM exp dir to write (kind: lm)."),
    config: Path = typer.Option(..., exists=True, help="LM YAML: lm (seq_rnn or transformer), lm_conf, training options."),
    valid: Optional[Path] = typer.Option(None, exists=True, help="Text to validate on, as TEXT (default: TEXT's last "
                                                                 "valid_lines sentences, held out)."),
    plain: bool = PLAIN,
    unk: bool = typer.Option(False, help="Map tokens outside the token list to <unk> and count them (default: an "
                                         "error naming FILE:LINE)."),
    resume: bool = typer.Option(False, help="Continue from EXP_DIR/checkpoint.pth if it exists "
                                "(refused when that run had other options or inputs; max_epoch, patience and "
                                "keep_nbest may change)."),
):
    """Train espnet2's LSTM (seq_rnn) or Transformer LM on TEXT over the tokens of TOKEN_DIR, by the shared loop.

    EXP_DIR gets config.yaml (kind: lm), tokens.txt, token_type (+ bpe.model), checkpoint.pth, the n-best
    <N>epoch.pth by valid loss, valid.loss.ave.pth (their average), train.log and images/loss.png.
    """
    from asrkit.lm.train import LMInputs, train_lm

    model_file = train_lm(exp_dir, config, LMInputs(text, token_dir, valid, plain, unk), resume=resume)
    typer.echo(f"lm train: wrote {model_file}")


@app.command("ppl")
def ppl(
    exp_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained LM exp dir."),
    text: Path = typer.Argument(..., exists=True, help="Data dir or Kaldi text file to score; with --plain, one "
                                                       "sentence per line."),
    out_dir: Optional[Path] = typer.Option(None, help="Where summary.json goes (default: EXP_DIR/ppl/SET, SET the data "
                                                      "dir of a `text` file, else the file's name)."),
    plain: bool = PLAIN,
    model: str = typer.Option("valid.loss.ave.pth", help="Model file inside EXP_DIR."),
    batch_size: int = typer.Option(32, min=1, help="Sentences per forward pass."),
):
    """Perplexity of an LM on TEXT: <sos/eos> prepended, every token and <eos> scored.

    Prints one `name value unit` line per figure: per-sentence perplexity averaged over sentences (mean) and
    exp(total NLL / total tokens) (corpus). Sentences with a token outside the token list are excluded and counted
    (OUT_DIR/oov), never mapped to <unk>.
    """
    from asrkit.asr.ilm import figures
    from asrkit.expdir import load_lm
    from asrkit.lm.ppl import default_ppl_dir, lm_perplexity

    lm, tokenizer = load_lm(exp_dir, model)
    target = out_dir or default_ppl_dir(exp_dir, text)
    summary = lm_perplexity(lm, tokenizer, text, target, plain, batch_size)
    for name, value, unit in figures(summary, "lm"):
        typer.echo(f"{name} {value} {unit}")
    typer.echo(f"lm ppl: wrote {target}/summary.json", err=True)
