"""Row access to sparse matrices, densified one batch at a time."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch


class SparseRows:
    """Wrap a (N, D) sparse matrix so the trainer can index rows without densifying it whole.

    Parameters
    ----------
    matrix : scipy.sparse matrix or array, shape (N, D)
        Converted to CSR once.

    Examples
    --------
    >>> import scipy.sparse as sp, torch
    >>> rows = SparseRows(sp.eye(4, format="csr"))
    >>> rows[torch.tensor([2, 0])].tolist()
    [[0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]]
    """

    def __init__(self, matrix: sp.spmatrix | sp.sparray) -> None:
        self.matrix = sp.csr_matrix(matrix, dtype=np.float32)
        self.shape = self.matrix.shape

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: torch.Tensor | np.ndarray | slice) -> torch.Tensor:
        if isinstance(index, torch.Tensor):
            index = index.numpy()
        return torch.from_numpy(self.matrix[index].toarray())  # (B, D) float32
