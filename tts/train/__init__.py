"""Training recipes (`statecast train <target>`): the codec now, the acoustic model next.

Shared pieces: `runtime` (device, threads, autocast), `checkpoint` (atomic,
resumable checkpoints). Each target has a light `<target>_cli.py` (arguments
only) and a recipe module imported when the command runs.
"""
