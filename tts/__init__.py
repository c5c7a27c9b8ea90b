"""StateCast: streaming text-to-speech on a selective state-space backbone."""

__version__ = "0.1.0"

# The synthesis API, imported on first use: `import tts` (and `statecast --help`)
# must not pull in torch.
_SYNTH_EXPORTS = ("Synthesizer", "SynthesisStream", "AudioChunk", "WordTimestamp")
__all__ = ["__version__", *_SYNTH_EXPORTS]


def __getattr__(name):
    if name in _SYNTH_EXPORTS:
        from . import synth

        return getattr(synth, name)
    raise AttributeError(f"module 'tts' has no attribute {name!r}")
