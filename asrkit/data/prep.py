"""`asrkit prep`: corpus archives and trees into Kaldi data dirs, for the recipes' local/data.sh.

unpack        a downloaded archive, checked against its published SHA-256 (asrkit/data/archive.py)
librispeech   LibriSpeech subset folders -> data/<subset> (asrkit/data/librispeech.py)
commonvoice   a Common Voice language folder's TSV splits -> data/<split> (asrkit/data/commonvoice.py)
"""

from pathlib import Path
from typing import Optional

import typer

from asrkit.cliapp import make_app

app = make_app("Corpus preparation: unpack checked archives, write Kaldi data dirs of LibriSpeech and Common Voice.")


@app.command()
def unpack(
    archive: Path = typer.Argument(..., help="A downloaded .tar.gz/.tgz/.tar archive."),
    dest: Path = typer.Argument(..., help="Folder to extract into."),
    sha256: Optional[str] = typer.Option(None, help="The published SHA-256 of the archive; a mismatch is an error."),
):
    """Check an archive against its checksum and extract it once (DEST/.<archive>.unpacked marks it done)."""
    from asrkit.data.archive import unpack as unpack_archive

    unpack_archive(archive, dest, sha256)
    typer.echo(f"prep unpack: {archive} -> {dest}")


@app.command()
def librispeech(
    corpus: Path = typer.Argument(..., exists=True, file_okay=False, help="The LibriSpeech folder (holds the subsets)."),
    out: Path = typer.Argument(..., help="Where the data dirs go (e.g. data)."),
    subset: list[str] = typer.Option([], help="Subset folder to prepare, repeatable (default: train-clean-100, "
                                              "dev-clean, dev-other, test-clean, test-other)."),
):
    """One data dir per subset, named as ESPnet does (train-clean-100 -> OUT/train_clean_100)."""
    from asrkit.data.librispeech import SUBSETS, data_dir_name, write_subset

    for name in subset or SUBSETS:
        count = write_subset(corpus / name, out / data_dir_name(name))
        typer.echo(f"prep librispeech: {out / data_dir_name(name)}: {count} utterances")


@app.command()
def commonvoice(
    corpus: Path = typer.Argument(..., exists=True, file_okay=False, help="A Common Voice language folder (clips/, *.tsv)."),
    out: Path = typer.Argument(..., help="Where the data dirs go (e.g. data)."),
    split: list[str] = typer.Option([], help="TSV split to prepare, repeatable (default: train, dev, test)."),
):
    """One data dir per split (OUT/<split>), MP3 clips decoded by ffmpeg pipes in wav.scp."""
    from asrkit.data.commonvoice import SPLITS, write_split

    for name in split or SPLITS:
        count = write_split(corpus, name, out / name)
        typer.echo(f"prep commonvoice: {out / name}: {count} utterances")
