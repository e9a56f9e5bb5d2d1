#!/usr/bin/env python3
"""Python/PyTorch reference runner: the peer the Rust executor is benchmarked against.

    reference.py MODEL [--threads N] [--iters K] [--concurrency C] [--requests R]
                       [--mode forward|request] [--input FILE] [--seed S] [--device cpu|cuda]

Loads MODEL's TorchScript file from host/models/registry.toml (refusing a sha256
mismatch, as the executor does), then measures
  * batch-1 latency: K sequential calls (p50/p90/mean, ms), and
  * throughput: R calls spread over C Python threads sharing the module (req/s),
with torch.set_num_threads(N) intra-op threads. --mode forward times one
forward at batch 1; --mode request times a whole request as the executor runs
it (classify: softmax; embed: tokenize + forward; diffusion: the full sampling
loop; generate: max_tokens sampled tokens). --input is a file holding the
request payload (raw little-endian f32 for tensor input, UTF-8 text otherwise).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the clone
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import common  # noqa: E402

DEFAULT_TEXT = {"digits-ddpm": "7", "tiny-lm": "The ", "minilm-l6": "A validator runs the model and votes."}


def make_request(m: dict, payload: bytes | None, seed: int, mode: str, device: str = "cpu"):
    """Returns a zero-argument callable doing one request (or one forward),
    with its result on the CPU (so a CUDA call is timed to completion, as the
    executor's is)."""
    call = _make_request(m, payload, seed, mode, device)
    if device == "cpu":
        return call

    def synced():
        out = call()
        torch.cuda.synchronize()
        return out
    return synced


def _make_request(m: dict, payload: bytes | None, seed: int, mode: str, device: str):
    net = torch.jit.load(str(common.model_path(m)), map_location=device)
    task, extra, params = m["task"], m.get("extra", {}), dict(m.get("params", {}))
    if task == "classify":
        shape = m["input"]["shape"]
        if payload is None:
            from sklearn.datasets import load_digits
            x = torch.tensor(load_digits().images[0], dtype=torch.float32).reshape(1, *shape) / 16.0
        else:
            x = torch.from_numpy(np.frombuffer(payload, dtype="<f4").copy()).reshape(1, *shape)
        x = x.to(device)
        if mode == "forward":
            return lambda: net(x)
        return lambda: torch.softmax(net(x), dim=1)
    text = payload if payload is not None else DEFAULT_TEXT[m["id"]].encode()
    if task == "embed":
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(str(common.MODELS_DIR / extra["tokenizer"]))

        def encode():
            e = tok.encode(text.decode())
            return (torch.tensor([e.ids], dtype=torch.int64, device=device),
                    torch.tensor([e.attention_mask], dtype=torch.int64, device=device))
        ids, mask = encode()
        if mode == "forward":
            return lambda: net(ids, mask)
        return lambda: net(*encode())
    if task == "diffusion":
        s = extra["image_size"]
        y = int(text.decode())
        if mode == "forward":
            x = torch.randn(1, 1, s, s, generator=torch.Generator().manual_seed(seed)).to(device)
            t = torch.tensor([extra["timesteps"] // 2], device=device)
            yy = torch.tensor([y], device=device)
            return lambda: net(x, t, yy)
        cfg = dict(extra, steps=params.get("steps", extra["timesteps"]))
        return lambda: common.ddpm_sample(net, [y], [seed], cfg, device=device)
    if task == "generate":
        if mode == "forward":
            toks = torch.tensor([list((extra["prefix"].encode() + text)[-extra["context"]:])], device=device)
            return lambda: net(toks)
        return lambda: common.lm_generate(net, text, seed, extra, params, device=device)
    raise SystemExit(f"unknown task {task}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--iters", type=int, default=50, help="sequential batch-1 calls")
    ap.add_argument("--concurrency", type=int, default=4, help="Python threads for throughput")
    ap.add_argument("--requests", type=int, default=0, help="calls for throughput (default 4 x iters)")
    ap.add_argument("--mode", choices=["forward", "request"], default="forward")
    ap.add_argument("--input", type=Path, help="request payload file")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the GPU peer)")
    ap.add_argument("--deterministic", action="store_true",
                    help="the executor's settings: deterministic algorithms and cuBLAS workspace, "
                         "cuDNN benchmark off, TorchScript graph-executor optimization (fusion) off")
    a = ap.parse_args()
    if a.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # before CUDA starts
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch._C._set_graph_executor_optimize(False)

    torch.set_num_threads(a.threads)
    reg = common.load_registry()
    if a.model not in reg:
        raise SystemExit(f"unknown model {a.model}; registry has {sorted(reg)}")
    m = reg[a.model]
    path = common.model_path(m)
    if not path.is_file():
        raise SystemExit(f"{path} missing (scripts/setup models)")
    if common.sha256_file(path) != m["sha256"]:
        raise SystemExit(f"{path}: sha256 does not match the registry; refusing")
    payload = a.input.read_bytes() if a.input else None
    call = make_request(m, payload, a.seed, a.mode, a.device)

    with torch.inference_mode():
        for _ in range(a.warmup):
            call()
        lat = []
        for _ in range(a.iters):
            t0 = time.perf_counter()
            call()
            lat.append((time.perf_counter() - t0) * 1e3)

        total = a.requests or 4 * a.iters
        lock, left = threading.Lock(), [total]

        def worker():
            with torch.inference_mode():
                while True:
                    with lock:
                        if left[0] == 0:
                            return
                        left[0] -= 1
                    call()

        ths = [threading.Thread(target=worker) for _ in range(a.concurrency)]
        t0 = time.perf_counter()
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        wall = time.perf_counter() - t0

    lat.sort()
    out = dict(model=a.model, sha256=m["sha256"], mode=a.mode, threads=a.threads, device=a.device,
               deterministic=a.deterministic,
               torch=torch.__version__, cpu_capability=torch.backends.cpu.get_cpu_capability(),
               aten_cpu_capability_env=os.environ.get("ATEN_CPU_CAPABILITY"),
               batch1=dict(iters=a.iters, mean_ms=round(statistics.fmean(lat), 4),
                           p50_ms=round(lat[len(lat) // 2], 4), p90_ms=round(lat[int(len(lat) * 0.9)], 4),
                           p99_ms=round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 4)),
               concurrent=dict(concurrency=a.concurrency, requests=total, seconds=round(wall, 4),
                               rps=round(total / wall, 2)))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
