"""`asrkit tts`: neural TTS stages: CTC forced alignment, FastSpeech2 training, a voice's intelligibility.

(`asrkit synth`, which speaks texts into a data dir with any voice, engine or trained, is a top-level stage.)
"""

from pathlib import Path
from typing import Optional

import typer

from asrkit.cliapp import make_app

app = make_app("Neural TTS: align (CTC durations), train (FastSpeech2), eval (ASR-WER of a voice).")
ExistingDir = typer.Argument(..., exists=True, file_okay=False, help="Kaldi-style data dir.")


@app.command()
def align(
    data_dir: Path = ExistingDir,
    asr_exp: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained char-token ASR exp dir (the aligner)."),
    out_dir: Path = typer.Argument(..., help="Gets durations (uttid d1 d2 ...) and the aligner's token dir (tokens.txt, token_type)."),
    config: Optional[Path] = typer.Option(None, exists=True, help="TTS YAML: its `features` set the TTS frame hop, "
                                                                  "`align_trim_db` the speech-region trimming."),
    model: str = typer.Option("valid.acc.ave.pth", help="Model file inside ASR_EXP."),
):
    """CTC forced alignment: per-token durations in TTS frames, summing to each utterance's mel frame count."""
    from asrkit.tts.align import align_data_dir
    from asrkit.tts.model import TTSConfig

    tts = TTSConfig.load(config) if config else TTSConfig()
    durations = align_data_dir(data_dir, asr_exp, out_dir, tts.feature_config, model, trim_db=tts.align_trim_db)
    typer.echo(f"tts align: wrote {durations}")


@app.command("train")
def train(
    data_dir: Path = ExistingDir,
    exp_dir: Path = typer.Argument(..., help="TTS experiment dir."),
    config: Path = typer.Option(..., exists=True, help="TTS YAML (FastSpeech2 `model`, `features`, training options; "
                                                    "`speakers: true`: one voice per speaker of DATA_DIR/utt2spk)."),
    alignment: Path = typer.Option(..., exists=True, file_okay=False, help="`asrkit tts align` output dir for DATA_DIR."),
    resume: bool = typer.Option(False, help="Continue from EXP_DIR/checkpoint.pth if it exists "
                                "(refused when that run had other options or inputs; max_epoch, patience, "
                                "keep_nbest and the vocoder may change)."),
):
    """Train FastSpeech2 on a data dir of real speech, with durations from `asrkit tts align`."""
    from asrkit.tts.train import train_tts

    model_file = train_tts(data_dir, exp_dir, config, alignment, resume=resume)
    typer.echo(f"tts train: wrote {model_file}")


@app.command("eval")
def evaluate(
    text: Path = typer.Argument(..., exists=True, dir_okay=False, help="Kaldi `text` file: uttid transcript."),
    asr_exp: Path = typer.Argument(..., exists=True, file_okay=False, help="ASR exp dir that judges intelligibility."),
    out_dir: Path = typer.Argument(..., help="Decode dir (text, score_wer/, ...); the synthesized speech goes to OUT_DIR/data."),
    voice: str = typer.Option(..., help="A synth voice, e.g. model:exp/tts_train (a TTS exp dir; model:EXP@SPEAKER if "
                                        "speaker-conditioned) or espeak-ng:en-us."),
    decode_config: Optional[Path] = typer.Option(None, exists=True, help="Decoding YAML."),
):
    """Intelligibility: synthesize TEXT with VOICE, decode it with ASR_EXP, score WER against TEXT."""
    from asrkit.tts.eval import evaluate_voice

    summary = evaluate_voice(text, asr_exp, out_dir, voice, decode_config)
    typer.echo(f"tts eval: {voice}: WER {summary['wer']:.2f} % ({summary['n_sent']} utterances, {summary['n_words']} words)")
