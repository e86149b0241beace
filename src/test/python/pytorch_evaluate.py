#!/usr/bin/python3
"""Loads a .safetensors file written by `simdconv train --save` into PyTorch and scores it on the
Fashion-MNIST test set, to check that simdconv's weights mean the same in PyTorch.

Usage: python3 src/test/python/pytorch_evaluate.py MODEL.safetensors [seed-cnn|tf-cnn] [DATA_DIR]

The networks are those of ../shared/peers/pytorch/train_fmnist.py (nn.Sequential, the same
state_dict names). The file is parsed here (8-byte little-endian header size, JSON header, raw
little-endian F32), so the `safetensors` package is not needed; the result is the same as
safetensors.torch.load_file.
"""
import gzip, json, struct, sys

import numpy as np
import torch
import torch.nn as nn


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    start = 8 + n
    out = {}
    for name, entry in header.items():
        assert entry["dtype"] == "F32", name
        b, e = entry["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[start + b:start + e], dtype="<f4").copy()).reshape(entry["shape"])
    return out


def model(name):
    if name == "seed-cnn":
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(150, 32), nn.ReLU(), nn.Linear(32, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5, padding=2),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 1024), nn.ReLU(),
                         nn.Linear(1024, 10))


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    nd = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def main():
    path = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 else "seed-cnn"
    root = sys.argv[3] if len(sys.argv) > 3 else "/usr/share/datasets/fashion-mnist"
    net = model(name)
    net.load_state_dict(load_safetensors(path), strict=True)
    net.eval()
    x = torch.from_numpy(idx(root + "/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(idx(root + "/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, x.shape[0], 1000):
            logits = net(x[i:i + 1000])
            loss += nn.functional.cross_entropy(logits, y[i:i + 1000], reduction="sum").item()
            correct += (logits.argmax(1) == y[i:i + 1000]).sum().item()
    print(json.dumps({"model": name, "images": int(x.shape[0]), "test_accuracy": correct / x.shape[0],
                      "test_loss": loss / x.shape[0]}))


if __name__ == "__main__":
    main()
