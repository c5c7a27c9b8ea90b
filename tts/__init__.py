"""StateCast: streaming text-to-speech on a selective state-space backbone."""

__version__ = "0.1.0"
