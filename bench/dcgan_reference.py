#!/usr/bin/env python3
"""The DCGAN step of bench/dcgan_reference.cpp in PyTorch eager (Python), for dcgan_bench.

Same layers, batch 64, Adam 2e-4 betas (0.5, 0.5), BCE with real target 0.9, zero_grad, two D
backwards, fake.detach(). Prints one JSON line: {"ms_per_step": ..., "torch": ..., "threads": ...}.
  dcgan_reference.py --images MNIST_IDX --steps N --warmup W --threads T [--device cpu|cuda]
"""
import argparse
import json
import sys
import time

import numpy as np
import torch
from torch import nn


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", required=True, help="MNIST train-images-idx3-ubyte (raw IDX)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    dev = torch.device(a.device)
    raw = np.fromfile(a.images, dtype=np.uint8)
    if raw.size < 16 or int.from_bytes(raw[:4].tobytes(), "big") != 0x803:
        sys.exit(f"dcgan_reference.py: {a.images} is not an IDX image file")
    images = torch.from_numpy(raw[16:].reshape(-1, 1, 28, 28).copy()).to(dev).float().div_(127.5).sub_(1.0)

    g = nn.Sequential(
        nn.ConvTranspose2d(100, 256, 4, bias=False), nn.BatchNorm2d(256), nn.ReLU(),
        nn.ConvTranspose2d(256, 128, 3, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1, bias=False), nn.Tanh()).to(dev)
    d = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Conv2d(128, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.LeakyReLU(0.2),
        nn.Conv2d(256, 1, 3, 1, 0, bias=False), nn.Sigmoid()).to(dev)
    g_opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.5))
    d_opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.5))
    bce = nn.functional.binary_cross_entropy
    batch, cursor = 64, 0

    def step():
        nonlocal cursor
        if cursor + batch > images.shape[0]:
            cursor = 0
        real = images[cursor:cursor + batch]
        cursor += batch
        d.zero_grad()
        real_labels = torch.full((batch,), 0.9, device=dev)
        bce(d(real).reshape(-1), real_labels).backward()
        fake = g(torch.randn(batch, 100, 1, 1, device=dev))
        fake_labels = torch.zeros(batch, device=dev)
        bce(d(fake.detach()).reshape(-1), fake_labels).backward()
        d_opt.step()
        g.zero_grad()
        fake_labels.fill_(1)
        loss = bce(d(fake).reshape(-1), fake_labels)
        loss.backward()
        g_opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    loss.item()  # waits for the device
    ms = (time.perf_counter() - t0) * 1000 / a.steps
    print(json.dumps({"ms_per_step": ms, "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
