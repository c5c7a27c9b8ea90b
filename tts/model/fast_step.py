"""Lean single-frame decoder step for CPU inference; ``AcousticModel.step`` is its reference.

At batch 1 a decoder step costs per-op dispatch overhead, not arithmetic
(the projections of a 6 x 256 model are ~0.5 MFLOP per layer). So this path
keeps the same math in as few torch calls as it can:

* constant work is done once at construction: RMSNorm weights folded into
  the following projection (``W @ (w * x) = (W * w) @ x``), ``A = -exp(A_log)``,
  the conv weights as (C, k), the head's logit mask folded into its bias,
  transposed weights for ``addmm`` so the residual add rides in the matmul;
* per phrase, the conditioning (text projection, position, voice) is a
  precomputed (T, D) tensor (``PhrasePlan.cond``): a frame's input is one
  row of it plus one ``embedding_bag`` over the previous frame's digits;
* no shape checks, no module calls, no autograd (``no_grad``; not
  ``inference_mode``, whose tensors could not be updated in place later by
  the server's ``DecoderState.scatter_``).

Eagerly, the SSM states are updated in place (like the reference step);
compiled, the same function runs functionally (new state tensors returned),
which is what ``torch.compile`` wants: ``LeanStepper(model, compile=True)``
is lever two, measured in ``benchmarks/bench_acoustic_step.py``. Tests hold
both equal to the reference step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .acoustic import AcousticModel
from .state import DecoderState


def _layer_weights(layer) -> tuple:
    cfg = layer.cfg
    w_in_t = (layer.in_proj.weight * layer.norm.weight[None, :]).t().contiguous()  # (D, Z+C+H)
    # dt_bias rides in the in_proj matmul as its bias (zero for z and xBC).
    b_in = torch.cat([layer.dt_bias.new_zeros(w_in_t.shape[1] - cfg.n_heads), layer.dt_bias.detach()])
    conv_w = layer.conv.weight.squeeze(1).t().contiguous()  # (k, C)
    conv_b = layer.conv.bias.contiguous()
    A = -torch.exp(layer.A_log.float())
    w_out_t = (layer.out_proj.weight * layer.out_norm.weight[None, :]).t().contiguous()  # (d_inner, D)
    return (w_in_t, b_in, conv_w, conv_b, A, layer.D.detach().unsqueeze(-1).clone(), w_out_t, cfg.norm_eps)


def lean_step(cond, prev, convs, ssms, embed_w, layers, head_w_t, head_b, row_offset, basis,
              dims: tuple, inplace: bool = False):
    """The whole decoder for one frame.

    ``inplace=False`` is functional (for torch.compile); ``inplace=True`` writes
    the SSM states into ``ssms`` (eager: no 1 MB allocation per layer at batch 16,
    whose malloc/free churn cost more than the arithmetic here).

    cond (B, D), prev (B, K*Gd) rows, convs [(B, k-1, C)], ssms [(B, H, P, N)] ->
    (tokens (B, K), logits (B, K, Gd, V), prev' (B, K*Gd), convs', ssms').
    dims = (d_inner, n_xbc, H, P, G, N, K, Gd, V, eps_f).
    """
    d_inner, n_gn, H, P, G, N, K, Gd, V, eps_f = dims
    B = cond.shape[0]
    r = H // G
    x = cond + F.embedding_bag(prev, embed_w, mode="sum")
    new_convs, new_ssms = [], []
    for (w_in_t, b_in, conv_w, conv_b, A, Dskip, w_out_t, eps), conv, ssm in zip(layers, convs, ssms):
        u = torch.addmm(b_in, F.rms_norm(x, (x.shape[-1],), None, eps), w_in_t)
        z, xbc, dt = u.split((d_inner, d_inner + 2 * n_gn, H), dim=-1)
        window = torch.cat([conv, xbc.unsqueeze(1)], dim=1)  # (B, k, C)
        xbc = F.silu((window * conv_w).sum(1) + conv_b)
        xs, Bm, Cm = xbc.split((d_inner, n_gn, n_gn), dim=-1)
        xs = xs.view(B, H, P)
        dt = F.softplus(dt)  # (B, H)
        decay = torch.exp(dt * A).view(B, G, r, 1, 1)
        dtx = (xs * dt.unsqueeze(-1)).view(B, G, r, P, 1)
        if inplace:
            s = ssm.view(B, G, r, P, N).mul_(decay).addcmul_(dtx, Bm.view(B, G, 1, 1, N))
        else:
            s = torch.addcmul(ssm.view(B, G, r, P, N) * decay, dtx, Bm.view(B, G, 1, 1, N))
        y = torch.bmm(s.view(B * G, r * P, N), Cm.reshape(B * G, N, 1)).view(B, H, P)
        y = torch.addcmul(y, Dskip, xs).view(B, d_inner)
        y = F.rms_norm(y * F.silu(z), (d_inner,), None, eps)
        x = torch.addmm(x, y, w_out_t)
        new_convs.append(window[:, 1:])
        new_ssms.append(s.view(B, H, P, N))
    logits = torch.addmm(head_b, F.rms_norm(x, (x.shape[-1],), None, eps_f), head_w_t).view(B, K, Gd, V)
    digits = logits.argmax(-1)
    tokens = (digits * basis).sum(-1)
    return tokens, logits, (digits + row_offset).flatten(1), new_convs, new_ssms


class LeanStepper:
    """Fused single-frame stepping for one model (eval mode, weights frozen at construction).

    ``step(state, cond)`` has the same contract as ``AcousticModel.step`` at
    temperature 0 (greedy) or with ``force_tokens``; sampling stays on the
    reference path. Rebuild the stepper after changing the model's weights.
    """

    def __init__(self, model: AcousticModel, compile: bool = False):
        cfg = model.cfg
        self.model = model
        with torch.no_grad():
            self.layers = [_layer_weights(layer) for layer in model.layers]
            self.embed_w = model.digit_embed.weight.detach().contiguous()
            self.head_w_t = (model.head.weight * model.norm_f.weight[None, :]).t().contiguous()
            # The -inf mask rides in the bias: padded levels come out -inf, as on the reference path.
            self.head_b = (model.head.bias + model.layout.logit_mask.flatten()).contiguous()
        lay = model.layout
        self.row_offset = lay.row_offset
        self.basis = lay.basis
        self.dims = (cfg.d_inner, cfg.n_groups * cfg.d_state, cfg.n_heads, cfg.head_dim, cfg.n_groups,
                     cfg.d_state, lay.n_codebooks, lay.n_dims, lay.width, cfg.norm_eps)
        self.inplace = not compile
        self._fn = torch.compile(lean_step, dynamic=True) if compile else lean_step

    def step(self, state: DecoderState, cond: torch.Tensor, force_tokens: torch.Tensor | None = None):
        """state (B streams), cond (B, D) -> (tokens (B, K), logits (B, K, Gd, V), state)."""
        with torch.no_grad():
            tokens, logits, prev, convs, ssms = self._fn(
                cond, state.prev, state.conv, state.ssm, self.embed_w, self.layers, self.head_w_t,
                self.head_b, self.row_offset, self.basis, self.dims, self.inplace)
            if force_tokens is not None:
                tokens = force_tokens.long()
                prev = self.model.layout.embed_index(self.model.layout.tokens_to_digits(tokens))
            state.conv, state.ssm, state.prev, state.frame = convs, ssms, prev, state.frame + 1
        return tokens, logits, state
