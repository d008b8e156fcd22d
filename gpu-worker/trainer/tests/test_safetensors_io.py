import json
import struct

import pytest
import torch

from tailor_trainer import safetensors_io


def test_round_trip_with_metadata(tmp_path):
    t = {"b": torch.randn(3, 4), "a": torch.arange(5, dtype=torch.int64), "h": torch.randn(2).half()}
    safetensors_io.save(t, tmp_path / "x.safetensors", {"format": "pt"})
    back, meta = safetensors_io.load(tmp_path / "x.safetensors")
    assert meta == {"format": "pt"}
    for k in t:
        assert back[k].dtype == t[k].dtype and torch.equal(back[k], t[k])


def test_layout_is_the_reference_one(tmp_path):
    safetensors_io.save({"w": torch.tensor([1.0, 2.0])}, tmp_path / "x.safetensors")
    raw = (tmp_path / "x.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    assert (8 + n) % 8 == 0
    assert header["w"] == {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    assert raw[8 + n :] == struct.pack("<2f", 1.0, 2.0)


@pytest.mark.parametrize("blob", [b"", b"\x01\x00", struct.pack("<Q", 10**12) + b"{}",
                                  struct.pack("<Q", 2) + b'{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'])
def test_corrupt_files_are_refused(tmp_path, blob):
    (tmp_path / "bad").write_bytes(blob)
    with pytest.raises(ValueError):
        safetensors_io.load(tmp_path / "bad")


def test_out_of_bounds_offsets_are_refused(tmp_path):
    head = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    (tmp_path / "bad").write_bytes(struct.pack("<Q", len(head)) + head + b"\x00" * 8)
    with pytest.raises(ValueError, match="out of bounds"):
        safetensors_io.load(tmp_path / "bad")
