"""Reads and writes the safetensors format without the library: an 8-byte little-endian header length, a JSON
header (`{name: {dtype, shape, data_offsets}}`, optional `__metadata__`), then raw little-endian tensor bytes."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import torch

_DTYPES = {
    "F32": (torch.float32, np.float32),
    "F16": (torch.float16, np.float16),
    "I64": (torch.int64, np.int64),
    "I32": (torch.int32, np.int32),
}
_BF16 = "BF16"
MAX_HEADER = 100 * 1024 * 1024


def _dtype_name(t: torch.Tensor) -> str:
    for name, (td, _) in _DTYPES.items():
        if t.dtype == td:
            return name
    if t.dtype == torch.bfloat16:
        return _BF16
    raise ValueError(f"unsupported dtype {t.dtype}")


def save(tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None) -> None:
    header: dict = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        dtype = _dtype_name(t)
        arr = t.view(torch.int16).numpy() if dtype == _BF16 else t.numpy()
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((8 - len(head) % 8) % 8)  # align the data section like the reference writer
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for raw in blobs:
            f.write(raw)


def load(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise ValueError("not a safetensors file: too short")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise ValueError("not a safetensors file: bad header length")
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n :]
    out: dict[str, torch.Tensor] = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        if not 0 <= start <= end <= len(body):
            raise ValueError(f"{name}: data offsets out of bounds")
        shape = info["shape"]
        dtype = info["dtype"]
        if dtype == _BF16:
            arr = np.frombuffer(body[start:end], dtype="<i2").copy()
            t = torch.from_numpy(arr).view(torch.bfloat16)
        elif dtype in _DTYPES:
            np_dtype = np.dtype(_DTYPES[dtype][1]).newbyteorder("<")
            arr = np.frombuffer(body[start:end], dtype=np_dtype).astype(_DTYPES[dtype][1])
            t = torch.from_numpy(arr.copy())
        else:
            raise ValueError(f"{name}: unsupported dtype {dtype}")
        if t.numel() != int(np.prod(shape)):
            raise ValueError(f"{name}: {t.numel()} elements for shape {shape}")
        out[name] = t.reshape(shape)
    return out, meta
