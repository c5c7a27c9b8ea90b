"""The per-stream recurrent state of the SSM decoder, batched over streams.

One row of every tensor belongs to one stream, so a batch of live streams is
one state object and the server can step them together, take finished ones
out (``gather`` the survivors) and put new ones in (``cat``) without any
stream's numbers depending on who else is in the batch. Shapes (letters as
in ``acoustic.py``):

    conv[i]   (B, k-1, C)   last k-1 inputs of layer i's causal conv, C = d_inner + 2*G*N
    ssm[i]    (B, H, P, N)  layer i's SSM state, always float32
    prev      (B, K*G)      embedding rows of the previous frame's digits (BOS rows at start)
    frame     (B,)          frames decoded so far: the stream's cursor in time

Everything here is constant-size: a stream at frame 5000 holds exactly the
bytes it held at frame 0 (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class DecoderState:
    conv: list[torch.Tensor]
    ssm: list[torch.Tensor]
    prev: torch.Tensor
    frame: torch.Tensor

    @property
    def batch_size(self) -> int:
        return int(self.prev.shape[0])

    def tensors(self) -> list[torch.Tensor]:
        return [*self.conv, *self.ssm, self.prev, self.frame]

    def nbytes_per_stream(self) -> int:
        """Bytes one stream's state occupies (all layers, previous digits, cursor)."""
        return sum(t[:1].numel() * t.element_size() for t in self.tensors())

    def gather(self, index) -> "DecoderState":
        """The streams at ``index`` (list or 1-D long tensor), as a new state (copies)."""
        idx = torch.as_tensor(index, dtype=torch.long, device=self.prev.device)
        return DecoderState(
            conv=[c.index_select(0, idx) for c in self.conv],
            ssm=[s.index_select(0, idx) for s in self.ssm],
            prev=self.prev.index_select(0, idx),
            frame=self.frame.index_select(0, idx),
        )

    def scatter_(self, index, sub: "DecoderState") -> "DecoderState":
        """Write ``sub``'s streams back into rows ``index`` of this state, in place."""
        idx = torch.as_tensor(index, dtype=torch.long, device=self.prev.device)
        for dst, src in zip(self.tensors(), sub.tensors()):
            dst.index_copy_(0, idx, src)
        return self

    @classmethod
    def cat(cls, states: list["DecoderState"]) -> "DecoderState":
        """Stack several states (for instance single new streams) into one batch."""
        return cls(
            conv=[torch.cat(layer) for layer in zip(*(s.conv for s in states))],
            ssm=[torch.cat(layer) for layer in zip(*(s.ssm for s in states))],
            prev=torch.cat([s.prev for s in states]),
            frame=torch.cat([s.frame for s in states]),
        )

    def restart_(self, rows: list[int], bos: torch.Tensor) -> "DecoderState":
        """Streams ``rows`` start afresh, in place: zero conv and SSM state, ``bos`` (K*G,) as
        the previous frame. Their ``frame`` cursor runs on (it counts the stream's audio)."""
        if rows:
            idx = torch.as_tensor(rows, dtype=torch.long, device=self.prev.device)
            for t in (*self.conv, *self.ssm):
                t.index_fill_(0, idx, 0)
            self.prev[idx] = bos.to(self.prev.dtype)
        return self

    def clone(self) -> "DecoderState":
        return DecoderState([c.clone() for c in self.conv], [s.clone() for s in self.ssm],
                            self.prev.clone(), self.frame.clone())
