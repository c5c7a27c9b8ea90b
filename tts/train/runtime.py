"""Where and how a training run computes: device, threads, autocast.

One place decides the device for every recipe, so a recipe runs unchanged
on a CPU and on a GPU.
"""

from __future__ import annotations

import contextlib

import torch

from ..errors import StatecastError


def resolve_device(flag: str = "auto") -> torch.device:
    """'auto' -> cuda if present, else cpu; 'cuda' / 'cuda:N' / 'cpu' as asked."""
    if flag == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(flag)
    except RuntimeError:
        raise StatecastError(f"unknown device '{flag}' (use auto, cpu or cuda[:N])") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise StatecastError("--device cuda asked for, but torch sees no CUDA GPU")
    return dev


def configure(device: torch.device, threads: int | None) -> None:
    """CPU runs use `threads` torch threads (1 on a shared box); GPU runs use TF32."""
    if device.type == "cpu" and threads:
        torch.set_num_threads(threads)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def autocast(device: torch.device):
    """bf16 autocast on a GPU; plain float32 on a CPU (CPU bf16 is slower here)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
