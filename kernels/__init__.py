"""Selective-scan kernels: reference, chunked CPU/GPU training path, Triton kernels.

Start with ``scan_ref`` (glossary of shapes and the recurrence). Callers use
the dispatchers:

    y, final_state = selective_scan(x, dt, A, Bm, Cm, D, initial_state, impl="auto")
    y, new_state = selective_state_update(state, x, dt, A, Bm, Cm, D)

The Triton module is deliberately not imported here (optional 'train' extra).
"""

from .dispatch import IMPLS, resolve_scan_impl, selective_scan, selective_state_update, triton_installed
from .scan_chunked import DEFAULT_CHUNK, selective_scan_chunked
from .scan_ref import selective_scan_ref
from .step import selective_state_update_ref

__all__ = [
    "DEFAULT_CHUNK",
    "IMPLS",
    "resolve_scan_impl",
    "selective_scan",
    "selective_scan_chunked",
    "selective_scan_ref",
    "selective_state_update",
    "selective_state_update_ref",
    "triton_installed",
]
