"""ASR: the CTC/attention model (E-Branchformer/Conformer/Transformer + DeCRED heads), batching, training an exp dir,
and batched joint CTC/attention beam search. Stages 5-6 of a recipe."""
