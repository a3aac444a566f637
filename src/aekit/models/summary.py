"""Keras-style model summary: layer, output shape, parameter count, totals."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _shape(out: Any) -> str:
    tensor = getattr(out, "z", out)  # LatentOut -> its code
    if isinstance(tensor, torch.Tensor):
        return str((None, *tensor.shape[1:]))
    return "?"


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules with no children, plus latents (which own their projection)."""
    picked = []
    for name, mod in model.named_modules():
        if name and (not list(mod.children()) or name == "latent"):
            if not name.startswith("latent.") and not name.startswith("regularizers"):
                picked.append((name, mod))
    return picked


def summary_table(model: nn.Module) -> str:
    """Run one forward pass on zeros, recording each layer's output shape.

    Returns
    -------
    str
        A fixed-width table; the last lines give total and trainable parameters.
    """
    rows: list[tuple[str, str, int]] = []
    hooks = []
    for name, mod in _leaves(model):
        n_params = sum(p.numel() for p in mod.parameters())

        def hook(m: nn.Module, inp: Any, out: Any, name: str = name, n: int = n_params) -> None:
            rows.append((f"{name} ({type(m).__name__})", _shape(out), n))

        hooks.append(mod.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        x = torch.zeros(2, *model.config.input_shape, device=device)
        y = torch.zeros(2, dtype=torch.long, device=device) if model.config.num_classes else None
        with torch.no_grad():
            model(x, y)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    width = max([len(r[0]) for r in rows] + [24]) + 2
    title = f'Model: "{model.preset or "autoencoder"}"'
    line = "=" * (width + 36)
    lines = [title, line, f"{'Layer (type)':<{width}}{'Output Shape':<24}{'Param #':>12}", line]
    lines += [f"{n:<{width}}{s:<24}{p:>12,}" for n, s, p in rows]
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lines += [line, f"Total params: {total:,}", f"Trainable params: {trainable:,}", f"Non-trainable params: {total - trainable:,}"]
    return "\n".join(lines)
