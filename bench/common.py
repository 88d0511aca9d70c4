"""What every benchmark shares: the run's header line, `name value unit` figures, thread count, the FSDD model."""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--num-threads", type=int, default=2, help="torch threads for each toolkit (default: 2 cores)")
    return p


def start(args) -> None:
    """Fix the thread count and print the header that says where and when the figures were taken."""
    torch.set_num_threads(args.num_threads)
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} {platform.node()} {os.cpu_count()} cores "
          f"{platform.processor() or platform.machine()} torch {torch.__version__} threads {args.num_threads}",
          flush=True)


def emit(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.4g} {unit}".rstrip(), flush=True)


def fsdd_recipe() -> Path:
    """The FSDD recipe run by bench/recipes.py (run now when absent): its data dirs and trained exp dir."""
    recipe = OUT / "fsdd" / "asr1"
    if not (recipe / "exp" / "asr_train" / "valid.acc.ave.pth").exists():
        sys.path.insert(0, str(REPO / "bench"))
        from recipes import run

        print("# training the FSDD recipe first (bench/recipes.py fsdd)", flush=True)
        run("fsdd")
    return recipe
