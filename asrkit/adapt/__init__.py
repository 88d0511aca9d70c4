"""Text-only domain adaptation (the recipes' adapt stage): the text-to-latent VAE (tle.py), its training
(tle_train.py), reading latents with a decoder (latents.py) and the decoder fine-tune on a mix of source, TLE and
synthesized batches (finetune.py); `asrkit adapt` (cli.py) runs them."""
