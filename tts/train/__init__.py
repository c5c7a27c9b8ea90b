"""Training recipes (`statecast train <target>`): the codec now, the acoustic model next.

Shared pieces: `runtime` (device, threads, autocast), `checkpoint` (atomic,
resumable checkpoints), `loop` (lr schedule, JSONL log, periodic eval and
checkpoint, save on Ctrl-C), `cli_args` (the arguments every target takes).
Each target has a light `<target>_cli.py` (arguments only) and a recipe
module imported when the command runs.
"""
