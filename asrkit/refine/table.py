"""The recipes' comparison table: every arm's rounds side by side, with what only the recipe can score.

EXP_ROOT/<arm>/round{r}/ is one row (an arm dir per refine run, e.g. twister_s0; seed/round0: the seed, with only
its test scores). Columns from the round's summary/row.json (asrkit/refine/summary.py), from curve/kept.json
(pseudo-label precision and WER against the hidden labels, `asrkit refine curve`), and `<set>_wer` from every decode
dir round{r}/<set>/score_wer/summary.json the recipe scored (bin/refine.sh).
EXP_ROOT/table.md holds the markdown table, EXP_ROOT/wer_by_round.png the test WER by round per arm (asrkit/plots.py).
"""

import json
from pathlib import Path

from asrkit.fileio import atomic_write
from asrkit.plots import plot_wer_by_round

COLUMNS = ("arm", "round", "acceptance", "pl_precision", "pl_wer", "tts_wer", "dev_wer")
FRACTIONS = ("acceptance", "pl_precision")  # shown with 3 decimals; WERs (%) with 2


def _json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def round_row(round_dir: Path) -> dict:
    summary = _json(round_dir / "summary" / "row.json")
    kept = _json(round_dir / "curve" / "kept.json")
    row = {"arm": round_dir.parent.name, "round": int(round_dir.name.removeprefix("round")),
           "acceptance": summary.get("acceptance"), "pl_precision": kept.get("precision"), "pl_wer": kept.get("wer"),
           "tts_wer": summary.get("tts_wer"), "dev_wer": summary.get("dev_wer"),
           "minutes": round(sum(v for k, v in summary.items() if k.startswith("seconds_")) / 60, 1) if summary else None}
    for score in sorted(round_dir.glob("*/score_wer/summary.json")):
        row[score.parent.parent.name + "_wer"] = _json(score)["wer"]
    return row


def write_table(exp_root: Path) -> Path:
    """EXP_ROOT/table.md and wer_by_round.png (module docstring); returns the table's path."""
    rows = [round_row(d) for d in sorted(Path(exp_root).glob("*/round*")) if d.is_dir()]
    rows.sort(key=lambda row: (row["arm"] != "seed", row["arm"], row["round"]))
    columns = [*COLUMNS, *sorted({k for row in rows for k in row if k not in COLUMNS and k != "minutes"}), "minutes"]
    with atomic_write(Path(exp_root) / "table.md") as f:
        f.write("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n")
        for row in rows:
            f.write("| " + " | ".join(_cell(row.get(c), c) for c in columns) + " |\n")
    tests = [c for c in columns if c.endswith("_wer") and c not in COLUMNS]
    if tests:
        plot_wer_by_round(rows, tests[0], Path(exp_root) / "wer_by_round.png")
    return Path(exp_root) / "table.md"


def _cell(value, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}" if column in FRACTIONS else f"{value:.2f}"
    return str(value)
