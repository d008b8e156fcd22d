"""LoRA as a small module: a frozen base projection plus low-rank pairs.

A projection y = W x gains y += B (A x) for every adapter applied to it, with the scaling lora_alpha / r
baked into B at the edge (here it is kept apart, as PEFT does, so files round-trip exactly).

Three ways to feed the low-rank pair, matching the three users of the model:
- `self.lora_A/lora_B` parameters (one adapter, trained or loaded) — `train-lora` for one user, PEFT layout;
- per-call tensors `(A [r, in], B [out, r])` — one adapter for the whole batch;
- per-row tensors `(A [n_rows, r, in], B [n_rows, out, r])` — many users in one batch, each row with its
  own adapter (the idea of PEFT's `_mixed_batch_forward`, computed with batched matmuls). The ONNX graph
  takes this form as its inputs, also with one pair `[1, r, in]` broadcast over every row; rank 0 means
  "no adapter";
- per-group tensors `(A [U, r, in], B [U, out, r])` with the batch's rows grouped by user, the same number
  each (`n_rows = U × n`): one batched matmul over users, no per-row copies of the adapters (training).
"""
from __future__ import annotations

import math

import torch
from torch import nn


class LoraLinear(nn.Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = False):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.normal_(self.weight, std=0.02)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.lora_A: nn.Parameter | None = None
        self.lora_B: nn.Parameter | None = None
        self.scaling = 1.0

    def add_adapter(self, r: int, alpha: float, generator: torch.Generator | None = None) -> None:
        """PEFT's default init: A Kaiming-uniform, B zero, so a fresh adapter changes nothing."""
        a = torch.empty(r, self.in_features)
        bound = 1.0 / math.sqrt(self.in_features)  # kaiming_uniform_(a=sqrt(5)) gives this bound
        a.uniform_(-bound, bound, generator=generator)
        self.lora_A = nn.Parameter(a.to(self.weight.device))
        self.lora_B = nn.Parameter(torch.zeros(self.out_features, r, device=self.weight.device))
        self.scaling = alpha / r

    def remove_adapter(self) -> None:
        self.lora_A = self.lora_B = None
        self.scaling = 1.0

    def forward(self, x: torch.Tensor, lora: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        # x: [B, T, in]
        y = torch.matmul(x, self.weight.t())
        if self.bias is not None:
            y = y + self.bias
        if self.lora_A is not None and self.lora_B is not None:
            y = y + torch.matmul(torch.matmul(x, self.lora_A.t()), self.lora_B.t()) * self.scaling
        if lora is not None:
            a, b = lora
            if a.dim() == 2:  # one pair for the whole batch: A [r, in], B [out, r] (scaling already in B)
                y = y + torch.matmul(torch.matmul(x, a.t()), b.t())
            elif torch.jit.is_tracing():  # the ONNX graph: [B or 1, r, in], MatMul broadcasts one pair
                y = y + torch.matmul(torch.matmul(x, a.transpose(1, 2)), b.transpose(1, 2))
            elif a.shape[0] == x.shape[0]:  # one pair per row: A [B, r, in], B [B, out, r]
                y = y + torch.bmm(torch.bmm(x, a.transpose(1, 2)), b.transpose(1, 2))
            else:  # one pair per group of consecutive rows: A [U, r, in], B [U, out, r], B = U × n rows
                g = x.reshape(a.shape[0], -1, x.shape[-1])  # [U, n·T, in]
                # y += (g A^T) B^T, added in place of a temporary: the output is as large as the base one's
                y = torch.baddbmm(y.reshape(a.shape[0], -1, y.shape[-1]), torch.bmm(g, a.transpose(1, 2)),
                                  b.transpose(1, 2)).reshape(y.shape)
        return y
