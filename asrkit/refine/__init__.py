"""`asrkit refine`: self-refinement of an ASR model with TTS-synthesized data (Twister, arXiv 2506.11130).

One round (asrkit/refine/rounds.py) runs five resumable stages, each in its own dir under OUT/round{r}/: labels
(labels.py: pseudo-label the unlabeled speech and keep the confident part, select.py), tts (voices.py: a
speaker-conditioned FastSpeech2 on the kept utterances), synth (synthetic.py: the target text spoken by those voices,
curated with concat.py and asrkit/data/perturb.py), finetune (mix.py, finetune.py) and summary (summary.py). The
options are one YAML (config.py). For recipes, after the fact: curve.py scores confidence against the hidden
labels, table.py gathers every arm's rounds.
"""
