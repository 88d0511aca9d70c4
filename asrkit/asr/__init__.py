"""ASR: the CTC/attention model (E-Branchformer/Conformer/Transformer + DeCRED heads), batching, training an exp dir,
and batched joint CTC/attention beam search. Stages 6 and 8 of a recipe."""
