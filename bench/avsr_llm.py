#!/usr/bin/env python3
"""Cost of the Omni-AVSR model's LLM per prompt token: forward + backward of one AVSR pass (frozen LLM, LoRA,
projectors) for LLMs cut to K layers, in float32, under bf16 autocast, and with bf16 weights; with --decode, beam
search seconds per utterance for each task at the finest and the coarsest rate pair instead (float32); with --text-ce,
the untrained cut LLM's cross-entropy of GRID s1 transcripts after the ASR instruction (no audio): how far layer K's
output is from what the LM head reads.

    OMP_NUM_THREADS=1 .venv/bin/python bench/avsr_llm.py --layers 30 6 2 --batch 8
    OMP_NUM_THREADS=1 .venv/bin/python bench/avsr_llm.py --layers 6 --batch 16 --decode
    OMP_NUM_THREADS=1 .venv/bin/python bench/avsr_llm.py --layers 30 12 6 2 --text-ce

The prompt is GRID-sized: 75 audio and 75 video frames (3 s at 25 Hz) pooled at rates 2 and 2, the AVSR instruction
and a six-word transcript (about 100 tokens). One line per figure, `name value unit`, as bench/recipes.py prints.
"""

import argparse
import time

import torch
import torch.nn.functional as F

from asrkit.avsr.decode import AVSRDecodeConfig, beam_search
from asrkit.avsr.llm import LLMConfig, keep_layers, load_llm
from asrkit.avsr.model import DEFAULT_INSTRUCTIONS, TASKS, AVSRModel, ModelConfig
from asrkit.data.grid import read_corpus

GRID_S1 = "../shared/data/grid_s1"  # from the repository root

TRANSCRIPT = "bin blue at f two now"


def step_ms_per_token(model: AVSRModel, batch: int, repeats: int) -> float:
    """Mean wall time of forward + backward of an AVSR pass, per prompt token, in ms (after one warm-up pass)."""
    inputs = {m: (torch.randn(batch, 75, 256), torch.full((batch,), 75)) for m in ("audio", "video")}
    rates, targets = {"audio": 2, "video": 2}, model.encode_targets([TRANSCRIPT] * batch)
    tokens = int(model.prompt("avsr", inputs, rates, targets).lens.sum())
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        model("avsr", inputs, rates, targets)["loss"].backward()
        times.append(time.perf_counter() - start)
    return 1000 * sum(times[1:]) / repeats / tokens


def decode_seconds(model: AVSRModel, batch: int, layers: int):
    """Print beam search (beam 5, 16 tokens: the untrained model never ends early, so an upper bound) seconds per
    utterance for every task at rates (2, 2) and (8, 5)."""
    inputs = {m: (torch.randn(batch, 75, 256), torch.full((batch,), 75)) for m in ("audio", "video")}
    for task in TASKS:
        for audio_rate, video_rate in ((2, 2), (8, 5)):
            start = time.perf_counter()
            beam_search(model.eval(), task, inputs, {"audio": audio_rate, "video": video_rate},
                        AVSRDecodeConfig(beam_size=5, max_tokens=16))
            seconds = (time.perf_counter() - start) / batch
            print(f"avsr_llm.K{layers}.decode.{task}.a{audio_rate}v{video_rate} {seconds:.3f} s/utterance", flush=True)


@torch.no_grad()
def text_ce(llm, tokenizer, layers: int, count: int = 32):
    """Print the mean cross-entropy (nats per token) of the first `count` GRID s1 transcripts after the ASR
    instruction, by the LLM cut to `layers` layers, untrained."""
    prompt = tokenizer(DEFAULT_INSTRUCTIONS["asr"], add_special_tokens=False)["input_ids"]
    losses = []
    for utterance in read_corpus(GRID_S1)[:count]:
        ids = tokenizer(" " + utterance.text, add_special_tokens=False)["input_ids"]
        logits = llm(input_ids=torch.tensor([prompt + ids])).logits[0, len(prompt) - 1: -1]
        losses.append(float(F.cross_entropy(logits, torch.tensor(ids))))
    print(f"avsr_llm.K{layers}.grid_text_ce {sum(losses) / len(losses):.2f} nats/token", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", default="smollm2", help="llm.path (default: SmolLM2-135M-Instruct's GGUF)")
    parser.add_argument("--layers", type=int, nargs="+", default=[30, 6, 2], help="K values, largest first")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--decode", action="store_true", help="measure decoding instead of training")
    parser.add_argument("--text-ce", action="store_true", help="measure the cut LLM's GRID text cross-entropy")
    args = parser.parse_args()
    if args.text_ce:
        llm, tokenizer = load_llm(LLMConfig(path=args.path, num_layers=0))
        for layers in sorted(args.layers, reverse=True):
            keep_layers(llm, layers)
            text_ce(llm, tokenizer, layers)
        return
    config = ModelConfig(audio_dim=256, video_dim=256, audio_rates=[2, 8], video_rates=[2, 5])
    if args.decode:
        llm, tokenizer = load_llm(LLMConfig(path=args.path, num_layers=0))
        model = AVSRModel(config, llm, tokenizer)
        for layers in sorted(args.layers, reverse=True):
            keep_layers(model.llm.base_model.model, layers)
            decode_seconds(model, args.batch, layers)
        return
    for dtype in ("float32", "bfloat16"):
        llm, tokenizer = load_llm(LLMConfig(path=args.path, num_layers=0, dtype=dtype))
        model = AVSRModel(config, llm, tokenizer)
        for layers in sorted(args.layers, reverse=True):
            keep_layers(model.llm.base_model.model, layers)  # cut in place: the LoRA of dropped layers goes unused
            for autocast in ((False, True) if dtype == "float32" else (False,)):
                name = "bf16" if dtype == "bfloat16" else "fp32_autocast_bf16" if autocast else "fp32"
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):  # as the loop's amp: bf16
                    ms = step_ms_per_token(model, args.batch, args.repeats)
                print(f"avsr_llm.K{layers}.{name}.fwd_bwd {ms:.2f} ms/token", flush=True)


if __name__ == "__main__":
    main()
