"""Token-id shards: `tokens.bin` (uint16 little-endian, documents back to back) and `index.json` naming each
document's file, genre, split, start and length. Produced by `models/build/make-shards.ts`; the trainer never
sees raw text."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@dataclass
class Doc:
    file: str
    genre: str
    split: str
    tokens: np.ndarray


def load_shards(shard_dir: str | Path) -> tuple[dict, list[Doc]]:
    shard_dir = Path(shard_dir)
    index = json.loads((shard_dir / "index.json").read_text())
    tokens = np.fromfile(shard_dir / "tokens.bin", dtype="<u2")
    docs = [Doc(d["file"], d["genre"], d["split"], tokens[d["start"] : d["start"] + d["length"]]) for d in index["docs"]]
    return index, docs


class WindowSampler:
    """Random training windows: BOS followed by `seq_len` tokens from a document, documents picked by length."""

    def __init__(self, docs: list[Doc], seq_len: int, bos_id: int, seed: int):
        self.docs = [d for d in docs if len(d.tokens) > seq_len]
        lengths = np.array([len(d.tokens) - seq_len for d in self.docs], dtype=np.float64)
        self.p = lengths / lengths.sum()
        self.seq_len, self.bos = seq_len, bos_id
        self.rng = np.random.default_rng(seed)

    def batch(self, batch_size: int) -> torch.Tensor:
        """[batch, seq_len + 1] ids: inputs are [:, :-1], targets [:, 1:]."""
        rows = np.empty((batch_size, self.seq_len + 1), dtype=np.int64)
        for i, k in enumerate(self.rng.choice(len(self.docs), size=batch_size, p=self.p)):
            toks = self.docs[k].tokens
            off = self.rng.integers(0, len(toks) - self.seq_len + 1)
            rows[i, 0] = self.bos
            rows[i, 1:] = toks[off : off + self.seq_len]
        return torch.from_numpy(rows)


def eval_windows(doc: Doc, seq_len: int, bos_id: int) -> list[np.ndarray]:
    """Deterministic, non-overlapping windows covering a document, each BOS-prefixed."""
    out = []
    for off in range(0, len(doc.tokens), seq_len):
        chunk = doc.tokens[off : off + seq_len]
        if len(chunk) >= 8:
            out.append(np.concatenate([[bos_id], chunk]).astype(np.int64))
    return out
