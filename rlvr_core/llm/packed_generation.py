"""Sampling on the CPU with oneDNN's prepacked matrix products instead of the default (MKL) ones.

Token-by-token decoding multiplies a handful of rows (16 completions) by every weight matrix: the
default kernel reached 8-10 GB/s of weights there on the 2-core reference machine, oneDNN with the
weight reordered once into its blocked layout 25-35 GB/s (SmolLM2's 49k-row LM head: 13.6 ms ->
3.2 ms per token). Reordering all weights costs one copy of the model per generation round, which
is why it is redone on entry: the weights change at every optimizer step.

The products are the same sums in another order, so the logits differ in the last bits (about 1e-6
relative). Sampling from them draws the same tokens unless a uniform draw lands within that
distance of a boundary: over 6 SmolLM2 steps every metric, the Gradient-Gap ones included, was
identical, and two stored 30-step SmolLM2 runs recomputed with it gave every stored metric and
evaluation record again. Training's forward and backward are untouched (these kernels have no autograd).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch


def packing_available() -> bool:
    """Whether this torch has oneDNN's prepacked linear (x86 and Arm CPU builds do)."""
    ops = torch.ops.mkldnn
    return (torch.backends.mkldnn.is_available() and hasattr(ops, "_reorder_linear_weight")
            and hasattr(ops, "_linear_pointwise"))


def can_pack(model: torch.nn.Module) -> bool:
    """Whether generation from ``model`` can use the packed products here: oneDNN present, every
    ``nn.Linear`` weight a float32 CPU tensor, no CPU autocast (bf16 autocast keeps its own path)."""
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    return (bool(linears) and packing_available() and not torch.is_autocast_enabled("cpu")
            and all(m.weight.device.type == "cpu" and m.weight.dtype == torch.float32
                    for m in linears))


@contextmanager
def packed_linears(model: torch.nn.Module, rows: int):
    """Inside the block every ``nn.Linear`` of ``model`` multiplies with a oneDNN-packed copy of
    its current weight (``rows``: how many rows one product has, the layout's hint). For no-grad
    use (generation); each module's own ``forward`` is back on exit, even after an error."""
    if rows < 1:
        raise ValueError(f"rows={rows} is invalid: expected an integer >= 1")
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    try:
        for m in linears:
            m.forward = _packed_forward(m, rows)
        yield model
    finally:
        for m in linears:
            m.__dict__.pop("forward", None)


def _packed_forward(linear: torch.nn.Linear, rows: int):
    weight = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach(), rows)
    bias = None if linear.bias is None else linear.bias.detach()
    out_features = linear.out_features

    def forward(x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        y = torch.ops.mkldnn._linear_pointwise(flat, weight, bias, "none", [], "")
        return y.reshape(*x.shape[:-1], out_features)

    return forward
