"""A molecule sequence VAE: GRU encoder -> Gaussian latent -> GRU decoder with teacher forcing.

It reads and writes SMILES through its tokenizer: regex SMILES tokens or SELFIES
symbols (:data:`aekit.models.tokenizer.TOKENIZERS`), saved with the weights.

It follows aekit's model protocol, ``forward(x, y=None) -> AEOutput`` with
``loss`` and named ``terms``, so :func:`aekit.fit` trains it like any other model.
The Gaussian latent is aekit's own :class:`~aekit.models.latent.GaussianLatent`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aekit.errors import ConfigError, ModelFileError
from aekit.models.autoencoder import AEOutput
from aekit.models.base import Model
from aekit.models.config import SequenceVAEConfig
from aekit.models.latent import GaussianLatent
from aekit.models.serialization import config_from
from aekit.models.tokenizer import SmilesTokenizer, Tokenizer, tokenizer_from_dict

__all__ = ["SequenceVAE", "SequenceVAEConfig"]


class SequenceVAE(Model):
    """Variational autoencoder over token sequences from a :class:`~aekit.models.tokenizer.Tokenizer`.

    Parameters
    ----------
    config : SequenceVAEConfig
    tokenizer : Tokenizer
        SMILES or SELFIES tokens; saved with the weights, so a loaded model maps ids back to SMILES.

    Examples
    --------
    >>> tok = SmilesTokenizer.fit(["CCO", "CCN"])
    >>> vae = SequenceVAE(SequenceVAEConfig(vocab_size=len(tok), max_len=8, hidden=16, latent_dim=4), tok)
    >>> out = vae(torch.as_tensor(tok.encode(["CCO"], 8)))
    >>> out.logits.shape, sorted(out.terms)
    (torch.Size([1, 7, 7]), ['kl', 'recon'])
    """

    def __init__(self, config: SequenceVAEConfig, tokenizer: Tokenizer, preset: Optional[str] = None) -> None:
        super().__init__()
        if len(tokenizer) != config.vocab_size:
            raise ConfigError(f"vocab_size: config says {config.vocab_size}, the tokenizer has {len(tokenizer)}")
        self.config, self.tokenizer, self.preset = config, tokenizer, preset
        c = config
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=tokenizer.pad_id)
        self.encoder = nn.GRU(c.embed_dim, c.hidden, batch_first=True, bidirectional=True)
        self.latent = GaussianLatent(2 * c.hidden, c.latent_dim, c.beta)
        self.z_to_h = nn.Linear(c.latent_dim, c.hidden)
        self.decoder = nn.GRU(c.embed_dim + c.latent_dim, c.hidden, batch_first=True)
        self.head = nn.Linear(c.hidden, c.vocab_size)

    # ------------------------------------------------------------ pieces
    def _features(self, ids: torch.Tensor) -> torch.Tensor:
        lengths = (ids != self.tokenizer.pad_id).sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(ids), lengths, batch_first=True, enforce_sorted=False)
        _, h = self.encoder(packed)  # (2, B, H): last state of each direction
        return torch.cat([h[0], h[1]], dim=1)  # (B, 2H)

    def _decode_logits(self, z: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        emb = self.embed(inputs)  # (B, T, E)
        zs = z.unsqueeze(1).expand(-1, emb.shape[1], -1)  # (B, T, k): z at every step
        h0 = torch.tanh(self.z_to_h(z)).unsqueeze(0)  # (1, B, H)
        out, _ = self.decoder(torch.cat([emb, zs], dim=2), h0)
        return self.head(out)  # (B, T, V)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> AEOutput:
        """Teacher-forced ELBO for ids ``x`` of shape (B, max_len); ``y`` is unused."""
        ids = x.long()  # the trainer hands over float tensors; ids are exact in float32
        lat = self.latent(self._features(ids), sample=self.training)
        inputs, targets = ids[:, :-1], ids[:, 1:]  # predict token t+1 from tokens <= t
        if self.training and self.config.word_dropout > 0:
            drop = (torch.rand_like(inputs, dtype=torch.float) < self.config.word_dropout) & (inputs != self.tokenizer.pad_id)
            inputs = inputs.masked_fill(drop & (inputs != self.tokenizer.bos_id), self.tokenizer.unk_id)
        logits = self._decode_logits(lat.z, inputs).float()  # (B, T-1, V)
        nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=self.tokenizer.pad_id, reduction="none")
        terms = {"recon": nll.sum(1).mean(), "kl": lat.terms["kl"]}
        return AEOutput(logits, lat.z, terms["recon"] + terms["kl"], terms)

    # ----------------------------------------------------------- SMILES API
    def _ids(self, smiles: Sequence[str]) -> torch.Tensor:
        return torch.as_tensor(self.tokenizer.encode(list(smiles), self.config.max_len))

    @torch.no_grad()
    def encode(self, smiles: Sequence[str]) -> np.ndarray:
        """Posterior means, shape (N, latent_dim)."""
        self.eval()
        return self.latent(self._features(self._ids(smiles)), sample=False).mean.numpy()

    @torch.no_grad()
    def decode(self, z: np.ndarray | torch.Tensor, temperature: float = 0.0, seed: Optional[int] = None) -> list[str]:
        """Token-by-token generation from codes (N, latent_dim); ``temperature=0`` is greedy."""
        self.eval()
        z = torch.as_tensor(np.asarray(z, dtype=np.float32))
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        n, tok = len(z), self.tokenizer
        h = torch.tanh(self.z_to_h(z)).unsqueeze(0)  # (1, N, H)
        prev = torch.full((n, 1), tok.bos_id, dtype=torch.long)
        out = torch.full((n, self.config.max_len - 1), tok.pad_id, dtype=torch.long)
        done = torch.zeros(n, dtype=torch.bool)
        grammar = tok.grammar()  # syntax (and valence) masks: what each string may take next
        state = grammar.start(n)
        for t in range(self.config.max_len - 1):
            step, h = self.decoder(torch.cat([self.embed(prev), z.unsqueeze(1)], dim=2), h)
            logits = self.head(step[:, 0])  # (N, V)
            logits[:, [tok.pad_id, tok.bos_id, tok.unk_id]] = -float("inf")  # never generated
            logits = logits.masked_fill(~grammar.allowed(state, self.config.max_len - 1 - t), -float("inf"))
            if temperature > 0:
                nxt = torch.multinomial(F.softmax(logits / temperature, dim=1), 1, generator=gen)[:, 0]
            else:
                nxt = logits.argmax(1)
            out[:, t] = torch.where(done, tok.pad_id, nxt)
            grammar.advance(state, nxt)
            done |= nxt == tok.eos_id
            if done.all():
                break
            prev = nxt.unsqueeze(1)
        return [tok.decode(row) for row in out.tolist()]

    def reconstruct(self, smiles: Sequence[str]) -> list[str]:
        """Greedy decoding of the posterior means of ``smiles``."""
        return self.decode(self.encode(smiles))

    def sample(self, n: int, seed: Optional[int] = None, temperature: float = 1.0) -> list[str]:
        """``n`` strings decoded from codes drawn from the prior N(0, I) (not necessarily valid SMILES)."""
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        z = torch.randn(n, self.config.latent_dim, generator=gen)
        return self.decode(z, temperature=temperature, seed=seed)

    def interpolate(self, start: str, end: str, steps: int = 7) -> list[str]:
        """Greedy decodings along the straight line between the codes of two molecules."""
        za, zb = self.encode([start, end])
        alphas = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        return self.decode((1 - alphas) * za + alphas * zb)

    # --------------------------------------------------------------- I/O
    # ------------------------------------------------------------ saving
    family = "sequence-vae"  # the name in aekit.models.families.FAMILIES
    config_class = SequenceVAEConfig

    @property
    def code_shape(self) -> tuple[int, ...]:
        return (self.config.latent_dim,)

    def document(self) -> dict[str, Any]:
        """The JSON fields of ``config.json`` that rebuild this model: config, preset and vocabulary."""
        return {"preset": self.preset, "model": self.config.to_dict(), "tokenizer": self.tokenizer.to_dict()}

    @classmethod
    def preset_config(cls, fields: dict[str, Any], input_shape: Optional[tuple[int, ...]] = None,
                      tokenizer: Optional[Tokenizer] = None, **overrides: Any) -> SequenceVAEConfig:
        """The config of a preset's ``fields``: ``vocab_size`` from ``tokenizer``, ``max_len`` from ``input_shape`` (L,)."""
        tokenizer = tokenizer or SmilesTokenizer.default()
        shape = {"max_len": int(input_shape[0])} if input_shape is not None else {}
        return SequenceVAEConfig.from_dict({**fields, "vocab_size": len(tokenizer), **shape, **overrides})

    @classmethod
    def from_preset(cls, name: str, fields: dict[str, Any], input_shape: Optional[tuple[int, ...]] = None,
                    tokenizer: Optional[Tokenizer] = None, **overrides: Any) -> "SequenceVAE":
        """The model of preset ``name`` over ``tokenizer``'s vocabulary (default: :meth:`SmilesTokenizer.default`)."""
        tokenizer = tokenizer or SmilesTokenizer.default()
        return cls(cls.preset_config(fields, input_shape, tokenizer, **overrides), tokenizer, preset=name)

    @classmethod
    def builder(cls, doc: dict[str, Any], file: Path) -> Callable[[], "SequenceVAE"]:
        """A function building the model ``doc`` (a checked ``config.json``) describes; errors name ``file``."""
        config = config_from(doc, SequenceVAEConfig, file)
        try:
            tokenizer = tokenizer_from_dict(doc.get("tokenizer"))
        except ValueError as err:  # a bad vocabulary
            raise ModelFileError(f"{file}: cannot rebuild the sequence VAE: {err}") from None
        if len(tokenizer) != config.vocab_size:
            raise ModelFileError(f"{file}: vocab_size is {config.vocab_size} but the tokenizer holds {len(tokenizer)} tokens")
        return lambda: cls(config, tokenizer, preset=doc.get("preset"))

