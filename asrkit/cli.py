"""`asrkit` command line: one subcommand per recipe stage. Heavy imports happen inside each command."""

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from asrkit.adapt.cli import app as adapt_app
from asrkit.avsr.cli import app as avsr_app
from asrkit.cliapp import make_app
from asrkit.data.prep import app as prep_app
from asrkit.lm.cli import app as lm_app
from asrkit.refine.cli import app as refine_app
from asrkit.tts.cli import app as tts_app

app = make_app("Speech recognition in the Kaldi/ESPnet recipe style. Stages exchange Kaldi data dirs and an exp/ dir.")
app.add_typer(tts_app, name="tts")
app.add_typer(lm_app, name="lm")
app.add_typer(refine_app, name="refine")
app.add_typer(adapt_app, name="adapt")
app.add_typer(prep_app, name="prep")
app.add_typer(avsr_app, name="avsr")

ExistingDir = typer.Argument(..., exists=True, file_okay=False, help="Kaldi-style data dir.")


@app.command("validate-data")
def validate_data(
    data_dir: Path = ExistingDir,
    check_audio: bool = typer.Option(False, help="Also open every audio file and check segment ends."),
    fs: Optional[int] = typer.Option(None, help="Expected sample rate (with --check-audio)."),
    check_video: bool = typer.Option(False, help="Also decode every video of video.scp and check its frame count "
                                                 "against its audio (25 fps, within 2 frames)."),
):
    """Check a data dir against Kaldi's validate_data_dir.sh rules (and video.scp's files); prints FILE:LINE: problem
    lines."""
    from asrkit.data.datadir import validate_data_dir
    from asrkit.errors import AsrkitError

    problems = validate_data_dir(data_dir, check_audio=check_audio, fs=fs, check_video=check_video)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise AsrkitError(f"{data_dir}: {len(problems)} problem(s)")
    typer.echo(f"validate-data: {data_dir}: OK")


@app.command("fix-data")
def fix_data(data_dir: Path = ExistingDir):
    """Sort, de-duplicate and keep the utterances present in every file (old files go to DIR/.backup/)."""
    from asrkit.data.datadir import fix_data_dir

    kept, total = fix_data_dir(data_dir)
    typer.echo(f"fix-data: {data_dir}: kept {kept} of {total} utterances")


@app.command()
def perturb(
    data_dir: Path = ExistingDir,
    out_dir: Path = typer.Argument(..., help="Data dir to write."),
    speed: list[float] = typer.Option([], help="Speed factor (sox speed: tempo and pitch); repeatable, one copy per "
                                               "factor with ids prefixed spF- (Kaldi); 1.0 keeps the original."),
    volume: bool = typer.Option(False, help="Volume perturbation: sox --vol with a factor drawn per recording."),
    volume_low: float = typer.Option(0.125, help="Lowest volume factor (Kaldi's --scale-low)."),
    volume_high: float = typer.Option(2.0, help="Highest volume factor (Kaldi's --scale-high)."),
    noise: Optional[str] = typer.Option(None, help="Add noise: a noise data dir (babble), or 'white'."),
    snr: float = typer.Option(10.0, help="SNR of the added noise in dB, over the whole recording."),
    babble: int = typer.Option(1, min=1, help="Noise utterances summed per recording."),
    seed: int = typer.Option(0, help="Seed of the draws (per recording id, so any subset gives the same audio)."),
    write_audio: bool = typer.Option(False, help="Write 16-bit wav files instead of sox pipes in wav.scp (always "
                                                 "with --noise)."),
    audio_dir: Optional[Path] = typer.Option(None, help="Where written audio goes (default OUT_DIR/audio)."),
):
    """Speed, volume and additive-noise perturbation of a data dir into another, seeded and repeatable (Kaldi's
    perturb_data_dir_speed.sh / _volume.sh conventions)."""
    from asrkit.data.perturb import Perturbation, perturb_data_dir

    perturbation = Perturbation(tuple(speed) or (1.0,), (volume_low, volume_high) if volume else None, noise, snr,
                                babble, seed)
    count = perturb_data_dir(data_dir, out_dir, perturbation, write_audio=write_audio, audio_dir=audio_dir)
    typer.echo(f"perturb: {out_dir}: {count} utterances")


@app.command()
def fbank(
    data_dir: Path = ExistingDir,
    feat_dir: Path = typer.Argument(..., help="Where the ark/scp files go."),
    config: Optional[Path] = typer.Option(None, exists=True, dir_okay=False,
                                          help="YAML: fs, n_mels, frame_length_ms, frame_shift_ms (Kaldi fbank), or "
                                               "espnet_frontend (an imported model's EXP/fbank.yaml)."),
    nj: int = typer.Option(1, min=1, help="Number of jobs the data is split into."),
    job: int = typer.Option(1, min=1, help="Which job (1-based) this process computes."),
):
    """Compute log-mel fbank (80-dim Kaldi fbank by default) for one job's share of a data dir (skips a job already done)."""
    from asrkit.data.features import FbankConfig, compute_fbank_job, load_fbank_config

    scp = compute_fbank_job(data_dir, feat_dir, load_fbank_config(config) if config else FbankConfig(), nj=nj, job=job)
    typer.echo(f"fbank: wrote {scp}")


@app.command("merge-fbank")
def merge_fbank(
    data_dir: Path = ExistingDir,
    feat_dir: Path = typer.Argument(..., exists=True, file_okay=False),
    nj: int = typer.Option(1, min=1),
):
    """Gather the fbank jobs' scps into DATA/feats.scp and DATA/utt2num_frames, their config into DATA/fbank.yaml."""
    from asrkit.data.features import merge_feature_jobs

    count = merge_feature_jobs(data_dir, feat_dir, nj)
    typer.echo(f"merge-fbank: {data_dir}/feats.scp: {count} utterances")


@app.command("video-roi")
def video_roi(
    data_dir: Path = ExistingDir,
    roi_dir: Path = typer.Argument(..., help="Where the jobs' ark/scp go (raw_roi_<data>.JOB.*)."),
    config: Optional[Path] = typer.Option(None, exists=True, help="YAML: crop_x, crop_y, crop_width, crop_height, "
                                                                   "width, height, mean, std (asrkit/avsr/roi.py)."),
    nj: int = typer.Option(1, min=1, help="Number of jobs the data is split into."),
    job: Optional[int] = typer.Option(None, min=1, help="Compute only this job's share; run once more without --job "
                                                        "to merge."),
):
    """Mouth-ROI features from DATA/video.scp: fixed crop, normalised, (frames, height*width) float32 per utterance.

    A job already done with the same config is skipped; without --job, every job not done runs, then the merge into
    DATA/roi.scp, DATA/utt2num_roi_frames and DATA/roi.yaml.
    """
    from asrkit.avsr.roi import RoiConfig, load_roi_config
    from asrkit.avsr.roi import video_roi as run_video_roi

    scp = run_video_roi(data_dir, roi_dir, load_roi_config(config) if config else RoiConfig(), nj=nj, job=job)
    typer.echo(f"video-roi: wrote {scp}")


@app.command("compute-cmvn")
def compute_cmvn(data_dir: Path = ExistingDir, out_file: Path = typer.Argument(..., help="Stats file (.npz).")):
    """Global mean/variance statistics of DATA/feats.scp (ESPnet feats_stats.npz layout)."""
    from asrkit.data.features import compute_cmvn_stats

    typer.echo(f"compute-cmvn: wrote {compute_cmvn_stats(data_dir, out_file)}")


@app.command()
def tokens(
    text: Path = typer.Argument(..., exists=True, dir_okay=False, help="Kaldi `text` file to learn tokens from."),
    out_dir: Path = typer.Argument(..., help="Token dir to write: tokens.txt, token_type (and bpe.model)."),
    token_type: str = typer.Option("char", help="char, word, bpe or unigram."),
    vocab_size: int = typer.Option(30, help="Sentencepiece vocabulary size (an upper bound)."),
):
    """Build an ESPnet-style token list (<blank> first, <sos/eos> last)."""
    from asrkit.data.tokens import build_token_list

    token_list = build_token_list(text, out_dir, token_type, vocab_size)
    count = len(token_list.read_text(encoding="utf-8").splitlines())
    typer.echo(f"tokens: wrote {token_list} ({count} tokens)")


@app.command()
def train(
    config: Path = typer.Option(..., exists=True, help="Training YAML."),
    train_data: Path = typer.Option(..., exists=True, file_okay=False,
                                    help="Data dir with feats.scp (roi.scp for a video_roi model) and text."),
    valid_data: Path = typer.Option(..., exists=True, file_okay=False),
    token_dir: Path = typer.Option(..., exists=True, file_okay=False,
                                   help="`asrkit tokens` output: tokens.txt, token_type (+ bpe.model)."),
    cmvn: Optional[Path] = typer.Option(None, exists=True, dir_okay=False,
                                        help="Global CMVN stats of the training fbank (required for fbank models; "
                                             "video_roi models have none)."),
    exp_dir: Path = typer.Option(..., help="Experiment dir (ESPnet layout)."),
    resume: bool = typer.Option(False, help="Continue from EXP/checkpoint.pth if it exists "
                                "(refused when that run had other options or inputs; max_epoch, patience and "
                                "keep_nbest may change)."),
    init: Optional[Path] = typer.Option(None, exists=True,
                                        help="Fine-tune: start from this model file or exp dir (e.g. an imported "
                                             "ESPnet model); shorthand for one more `init_param:` entry."),
):
    """Train the E-Branchformer + Transformer (+ DeCRED heads) CTC/attention model.

    The features are TRAIN_DATA's feats.scp, made with TRAIN_DATA/fbank.yaml (merge-fbank writes it), or for a
    lip-reading model (`model.frontend: video_roi`) roi.scp and roi.yaml (`asrkit video-roi`); the exp dir
    keeps that config so decode can compute the same features from audio. Run under `torchrun --nproc_per_node N` for multi-process (DDP) training.
    """
    from asrkit.asr.train import Inputs
    from asrkit.asr.train import train as run_training

    inputs = Inputs(train_data, valid_data, token_dir, cmvn)
    run_training(exp_dir, config, inputs, resume=resume, init=init)


@app.command()
def decode(
    exp_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained experiment dir."),
    data_dir: Path = ExistingDir,
    out_dir: Path = typer.Argument(..., help="Decode dir: gets text, token, score, confidence, ctm (+ <k>best_recog/)."),
    config: Optional[Path] = typer.Option(None, exists=True, help="Decoding YAML (beam_size, ctc_weight, ...; lm and "
                                                                  "lm_weight: shallow fusion with an LM exp dir)."),
    model: str = typer.Option("valid.acc.ave.pth", help="Model file inside EXP_DIR."),
    nj: int = typer.Option(1, min=1, help="Jobs DATA is shared out to; needs --job (one process decodes one share)."),
    job: Optional[int] = typer.Option(None, min=1, help="Decode only this job's share, into OUT_DIR/logdir/output.JOB "
                                                        "(`asrkit merge-decode` gathers the jobs)."),
):
    """Joint CTC/attention beam search, several utterances per forward pass; n-best, confidences, token times.

    Reads DATA/feats.scp when the fbank stage ran (refused when DATA/fbank.yaml differs from EXP/fbank.yaml);
    otherwise computes fbank from DATA/wav.scp with EXP/fbank.yaml. A lip-reading model reads DATA/roi.scp.
    """
    from asrkit.asr.decode_dir import decode_data_dir, write_decode_dir
    from asrkit.asr.decoding import DecodeConfig, load_decode_config

    if nj > 1 and not job:  # else --nj 4 alone would quietly decode everything in this one process
        raise typer.BadParameter(f"--nj {nj} without --job: give --job J (1..{nj}) to each of {nj} processes, or drop "
                                 "--nj", param_hint="--nj")
    decode_config = load_decode_config(config) if config else DecodeConfig()
    target = out_dir / "logdir" / f"output.{job}" if job else out_dir
    results = decode_data_dir(exp_dir, data_dir, decode_config, model, nj=nj, job=job or 1)  # nj is 1 without job
    write_decode_dir(results, target, decode_config.nbest)
    typer.echo(f"decode: wrote {target}/text")


@app.command("cache-encoder")
def cache_encoder(
    exp_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained ASR exp dir."),
    data_dir: Path = ExistingDir,
    out_dir: Path = typer.Argument(..., help="Cache dir: output.JOB.{ark,scp,...}, then feats.scp, utt2num_frames, key."),
    model: str = typer.Option("valid.acc.ave.pth", help="Model file inside EXP_DIR."),
    nj: int = typer.Option(1, min=1, help="Number of jobs the data is split into."),
    job: Optional[int] = typer.Option(None, min=1, help="Compute only this job's share; run once more without --job "
                                                        "to merge."),
    device: str = typer.Option("cpu", help="Where the encoder runs: cpu or cuda."),
):
    """Store the frozen encoder's outputs (EXP's model.encode, eval mode) over DATA as ark/scp, for training against.

    Reads DATA/feats.scp when the fbank stage ran (refused when made with another config than EXP/fbank.yaml),
    otherwise computes fbank from DATA/wav.scp; a lip-reading model reads DATA/roi.scp. A job done with the same
    model file (sha256 of it, EXP's config, cmvn and fbank or ROI config) is skipped; without --job, every job not
    done runs, then the merge.
    """
    from asrkit.train.cache import cache_encoder as run_cache

    ran = run_cache(exp_dir, data_dir, out_dir, model, nj=nj, job=job, device=device)
    where = f"job {job} of {nj}" if job else f"{out_dir}/feats.scp"
    typer.echo(f"cache-encoder: {where}: {ran} job(s) computed, {(1 if job else nj) - ran} already done")


@app.command("ilm-ppl")
def ilm_ppl(
    exp_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained ASR exp dir."),
    text: Path = typer.Argument(..., exists=True, dir_okay=False, help="Kaldi `text` file (uttid words) to score."),
    out_dir: Optional[Path] = typer.Option(None, help="Where summary.json goes (default: EXP_DIR/ilm_ppl/SET, SET "
                                                      "the data dir of a `text` file, else the file's name)."),
    model: str = typer.Option("valid.acc.ave.pth", help="Model file inside EXP_DIR."),
    batch_size: int = typer.Option(32, min=1, help="Utterances per forward pass."),
    device: str = typer.Option("cpu", help="Where the decoder runs: cpu or cuda."),
):
    """Perplexity of the decoder's internal LM on TEXT, for the final layer and each DeCRED head.

    The internal LM is the attention decoder with no acoustic context: each layer's source-attention sub-layer is
    skipped (not fed zeros), as DeCRED's reference measures it. <sos> is prepended and every token plus <eos> is
    scored. Prints one `name value unit` line per figure: per-utterance perplexity averaged over utterances (mean)
    and exp(total NLL / total tokens) (corpus). Utterances with a token outside the model's token list are excluded
    and counted (OUT_DIR/oov), never mapped to <unk>.
    """
    from asrkit.asr.ilm import default_out_dir, figures, ilm_perplexity
    from asrkit.expdir import load_asr

    asr, tokenizer = load_asr(exp_dir, model)
    target = out_dir or default_out_dir(exp_dir, text)
    summary = ilm_perplexity(asr.to(device), tokenizer, text, target, batch_size)
    for name, value, unit in figures(summary):
        typer.echo(f"{name} {value} {unit}")
    typer.echo(f"ilm-ppl: wrote {target}/summary.json", err=True)


@app.command("merge-decode")
def merge_decode(
    decode_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Decode dir whose logdir/output.JOB "
                                                                             "the decode jobs wrote."),
    nj: int = typer.Option(1, min=1, help="Number of decode jobs."),
):
    """Gather every table of the decode jobs (k-best dirs included) into DECODE_DIR; a missing job is an error."""
    from asrkit.asr.decode_dir import merge_decode_jobs

    count = merge_decode_jobs(decode_dir, nj)
    typer.echo(f"merge-decode: {decode_dir}/text: {count} utterances")


@app.command()
def transcribe(
    ctx: typer.Context,
    model: Path = typer.Argument(..., exists=True, help="Trained exp dir, or a pack (`asrkit pack`'s .zip)."),
    audio: list[Path] = typer.Argument(..., help="Audio files: anything libsndfile or ffmpeg reads, at any rate."),
    config: Optional[Path] = typer.Option(None, exists=True, dir_okay=False,
                                          help="Decoding YAML (default: the pack's decode.yaml, else the defaults); "
                                               "its lm: fuses an LM exp dir."),
    json: bool = typer.Option(False, "--json", help="One JSON object per file: text, confidence, token times "
                                                    "and each window's n-best with scores."),
    window: float = typer.Option(30.0, min=1.0, help="Seconds decoded at once; longer files are cut into windows."),
    overlap: float = typer.Option(4.0, min=0.0, help="Seconds two windows share; the cut lies in its middle."),
):
    """Print `file<TAB>text` for each audio file (token times stitch the windows of a long file).

    A missing, unreadable, empty or too short file is one line on stderr, the others are still transcribed, and the
    exit status is 1 at the end. Silence gives an empty text.
    """
    import json as json_lib

    from asrkit.asr.transcribe import WindowConfig, load_recognizer, transcribe_files
    from asrkit.errors import AsrkitError

    windows = WindowConfig(window, overlap)
    failed = 0
    for path, result in transcribe_files(load_recognizer(model, config), audio, windows):
        if isinstance(result, AsrkitError):
            failed += 1
            typer.echo(f"{ctx.command_path}: {result}", err=True)
        else:
            typer.echo(json_lib.dumps(result.to_json(path), ensure_ascii=False) if json else f"{path}\t{result.text}")
    if failed:
        raise AsrkitError(f"{failed} of {len(audio)} files failed")


@app.command()
def pack(
    exp_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained ASR exp dir."),
    out_zip: Path = typer.Argument(..., help="Pack to write (.zip)."),
    model: str = typer.Option("valid.acc.ave.pth", help="Model file inside EXP_DIR."),
    decode_config: Optional[Path] = typer.Option(None, exists=True, dir_okay=False,
                                                 help="Decoding YAML that `asrkit transcribe` uses by default "
                                                      "(without lm: a pack carries no LM)."),
):
    """One zip with what the model needs to run elsewhere: config, model, tokens, CMVN, fbank config, versions and a
    README (training data, WER of the exp dir's scored decode dirs). `asrkit transcribe OUT_ZIP audio...` reads it."""
    from asrkit.pack import write_pack

    typer.echo(f"pack: wrote {write_pack(exp_dir, out_zip, model, decode_config)}")


@app.command()
def score(
    decode_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Decode dir holding `text`."),
    data_dir: Path = ExistingDir,
):
    """WER and CER against DATA/text: DECODE_DIR/score_{wer,cer}/result.txt and summary.json."""
    from asrkit.scoring import score_decode_dir

    utt2spk = data_dir / "utt2spk"
    summary = score_decode_dir(data_dir / "text", decode_dir / "text", decode_dir, utt2spk if utt2spk.exists() else None)
    typer.echo(f"score: {decode_dir}: WER {summary['wer']:.2f} % ({summary['n_sent']} utterances, {summary['n_words']} words)")


@app.command()
def compare(
    dir_a: Path = typer.Argument(..., exists=True, file_okay=False, help="Decode dir of system A (the baseline)."),
    dir_b: Path = typer.Argument(..., exists=True, file_okay=False, help="Decode dir of system B, same data dir."),
    data_dir: Path = ExistingDir,
    resamples: int = typer.Option(10000, min=1, help="Bootstrap resamples of the test set's utterances."),
    seed: int = typer.Option(0, help="Seed of the resampling (the same seed gives the same figures)."),
):
    """Paired bootstrap over utterances of WER(B) - WER(A) against DATA/text: the difference, its 95 % interval,
    the two-sided p-value under no difference, and the smallest difference this pair could show on this test set
    (the interval's half-width under no difference). One `name value unit` line per figure (asrkit/scoring.py)."""
    from asrkit.scoring import compare_decode_dirs

    comparison = compare_decode_dirs(dir_a, dir_b, data_dir, resamples, seed)
    for name, value, unit in comparison.figures():
        typer.echo(f"{name} {value} {unit}")


@app.command()
def results(recipe_dir: Path = typer.Argument(Path("."), exists=True, file_okay=False)):
    """Gather every scored decode dir and ILM perplexity under RECIPE_DIR/exp into RECIPE_DIR/RESULTS.md."""
    from asrkit.scoring import write_results_md

    typer.echo((write_results_md(recipe_dir)).read_text(encoding="utf-8"))


class ModelFormat(str, Enum):
    espnet = "espnet"


@app.command("export")
def export_model(
    exp_or_model: Path = typer.Argument(..., exists=True, help="Trained exp dir (its valid.acc.ave.pth) or a model file in one."),
    out_dir: Path = typer.Argument(..., help="Model dir to write (config.yaml, model .pth, tokens, stats)."),
    format: ModelFormat = typer.Option(ModelFormat.espnet, help="Target toolkit: espnet2 ASR model dir."),
):
    """Write a trained model in another toolkit's layout: espnet2's Speech2Text loads the espnet export.

    The exported model reads asrkit's fbank features (frontend null), or waveforms through espnet2's frontend when
    it was imported with one; DeCRED heads are left out.
    """
    from asrkit.interop.espnet import export_espnet

    config = export_espnet(exp_or_model, out_dir)
    typer.echo(f"export: wrote {config}")


@app.command("import")
def import_model(
    config_yaml: Path = typer.Argument(..., exists=True, dir_okay=False, help="espnet2 ASR config.yaml."),
    model_pth: Path = typer.Argument(..., exists=True, dir_okay=False, help="espnet2 model file (.pth)."),
    out_dir: Path = typer.Argument(..., help="asrkit exp dir to write."),
    format: ModelFormat = typer.Option(ModelFormat.espnet, help="Source toolkit: espnet2 ASR model dir."),
):
    """Turn an espnet2 E-Branchformer/Conformer/Transformer CTC/attention model into an asrkit exp dir.

    `asrkit decode` uses the exp dir as it is; `asrkit train --init OUT_DIR/valid.acc.ave.pth` fine-tunes it.
    A model on precomputed features (input_size set) reads asrkit's fbank; one that reads waveforms through
    espnet2's default frontend (the model zoo's layout) gets that frontend as OUT_DIR/fbank.yaml: decode computes
    it from wav.scp, and `asrkit fbank --config OUT_DIR/fbank.yaml` writes it for fine-tuning.
    """
    from asrkit.interop.espnet import import_espnet

    import_espnet(config_yaml, model_pth, out_dir)
    typer.echo(f"import: wrote {out_dir}")

@app.command()
def synth(
    text_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="`uttid text` lines (or plain lines with --plain)."),
    out_dir: Path = typer.Argument(..., help="Data dir to write (wav.scp, text, utt2spk, spk2utt, utt2dur)."),
    voice: list[str] = typer.Option([], help="ENGINE:VOICE, e.g. espeak-ng:en-us+f3, flite:slt, festival:kal_diphone, "
                                             "model:EXP (a TTS exp dir; model:EXP@SPEAKER if speaker-conditioned); repeatable."),
    voices_file: Optional[Path] = typer.Option(None, exists=True, dir_okay=False, help="One voice spec per line (# comments)."),
    plain: bool = typer.Option(False, help="TEXT_FILE has one text per line; ids utt000001, ... are generated."),
    assign: str = typer.Option("every", help="every: each text by every voice; round-robin: text i by voice i mod V."),
    rate_jitter: float = typer.Option(0.0, min=0.0, max=0.5, help="Speaking rate factor drawn from [1-x, 1+x] per utterance."),
    pitch_jitter: float = typer.Option(0.0, min=0.0, max=0.5, help="Pitch factor drawn from [1-x, 1+x] per utterance."),
    seed: int = typer.Option(0, help="Seed of the jitter (per utterance id, so any job split gives the same audio)."),
    fs: int = typer.Option(16000, help="Sample rate of the audio written."),
    audio_format: str = typer.Option("flac", help="flac or wav."),
    audio_dir: Optional[Path] = typer.Option(None, help="Where audio goes (default OUT_DIR/audio), one folder per voice."),
    nj: int = typer.Option(1, min=1, help="Number of jobs the utterances are split into."),
    job: Optional[int] = typer.Option(None, min=1, help="Synthesize only this job's share; run once more without --job "
                                                        "to write the data dir."),
):
    """Speak texts with TTS engine voices into a Kaldi data dir (audio done earlier is kept, so a re-run resumes).

    Each voice is one speaker. Every voice is checked to be installed before any audio is written.
    """
    from asrkit.data.datadir import read_dict
    from asrkit.tts.synth import (
        Jitter,
        read_texts,
        read_voice_specs,
        synthesize_data_dir,
    )

    voices = list(voice) + (read_voice_specs(voices_file) if voices_file else [])
    done = synthesize_data_dir(read_texts(text_file, plain), voices, out_dir, audio_dir=audio_dir, nj=nj, job=job,
                               assign=assign, jitter=Jitter(rate_jitter, pitch_jitter, seed), fs=fs,
                               audio_format=audio_format)
    if job:
        typer.echo(f"synth: job {job} of {nj}: synthesized {done} new utterances (audio already there is kept)")
    else:  # after jobs, the jobs made the audio: say what the data dir holds, not only this run's share
        total = len(read_dict(out_dir / "wav.scp"))
        typer.echo(f"synth: {out_dir}: {total} utterances ({done} synthesized by this run, the rest already there)")


if __name__ == "__main__":  # `python -m asrkit.cli` (torchrun, tests): the same command name in messages
    app(prog_name="asrkit")
