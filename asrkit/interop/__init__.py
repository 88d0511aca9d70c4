"""Interop with other toolkits: `asrkit export` / `asrkit import` of espnet2 model dirs."""
