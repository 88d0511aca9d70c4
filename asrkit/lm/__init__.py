"""Language models over an ASR model's own tokens (`asrkit lm`): training (train.py, on the shared loop), perplexity
(ppl.py), the model and its batched scoring for shallow fusion in the beam search (model.py; fused in
asrkit/asr/decoding.py), and reading LM text (text.py). The LM fusion baseline of text-only adaptation."""
