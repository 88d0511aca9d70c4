"""One error type for everything a user can get wrong: bad input files, configs, data dirs, models.

Library code raises an AsrkitError (or a subclass that names its area) whose message is one line and names the file
and line, or the utterance id, that is at fault. The CLI (asrkit/cli.py) turns every AsrkitError into that line on
stderr and exit status 1, in one place; anything else is a bug and keeps its traceback.
"""


class AsrkitError(Exception):
    """A problem with the user's input, told in one line: FILE:LINE: problem, or utterance 'ID': problem."""


class ConfigError(AsrkitError):
    """A YAML config (training, decoding, TTS, fbank) that asrkit cannot use."""
