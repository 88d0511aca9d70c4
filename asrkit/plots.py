"""Curves as PNG: training curves (what people would rather see than read in train.log), and the pseudo-label
precision and the WER by round of `asrkit refine`."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from asrkit.fileio import atomic_path  # noqa: E402


def _save(fig, ax, out: Path):
    """Grid, legend, tight layout, and the PNG written atomically."""
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)

def plot_history(history: list[dict], out_dir: Path):
    for metric in ("loss", "acc"):
        if metric in history[0]["train"]:  # TTS has no accuracy
            _plot_metric(history, metric, Path(out_dir) / f"{metric}.png")


def _plot_metric(history, metric, out):
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    for split in ("train", "valid"):
        ax.plot(epochs, [h[split][metric] for h in history], marker="o", label=split)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    _save(fig, ax, out)


def plot_precision_curve(points: list[dict], out: Path):
    """Pseudo-label precision and WER against acceptance (asrkit/refine/curve.py's points)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    acceptance = [p["acceptance"] for p in points]
    ax.plot(acceptance, [p["precision"] for p in points], label="precision (exactly right)")
    ax.plot(acceptance, [p["wer"] / 100 for p in points], label="WER / 100")
    ax.set_xlabel("acceptance (fraction kept, most confident first)")
    ax.set_ylim(0, 1.05)
    _save(fig, ax, out)


def plot_wer_by_round(rows: list[dict], metric: str, out: Path):
    """`metric` by round, one line per arm (asrkit/refine/table.py's rows; the seed is round 0 of every arm)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    seed = [row[metric] for row in rows if row["arm"] == "seed" and row.get(metric) is not None]
    for arm in sorted({row["arm"] for row in rows} - {"seed"}):
        points = [(row["round"], row[metric]) for row in rows if row["arm"] == arm and row.get(metric) is not None]
        points = [(0, seed[0])] * bool(seed) + sorted(points)
        ax.plot([r for r, _ in points], [w for _, w in points], marker="o", label=arm)
    ax.set_xlabel("round")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"{metric} (%)")
    _save(fig, ax, out)
