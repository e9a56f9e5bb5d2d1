"""Shared pieces of Chimera's model builder (build.py) and reference runner
(reference.py): paths, the registry, canonical TorchScript saving, and Python
reference implementations of what the Rust executor does around each model
(the ChaCha20 draws, DDPM sampling, byte-LM sampling). docs/models.md is the
specification; this file is its executable twin."""

from __future__ import annotations

import hashlib
import io
import math
import os
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = ROOT / "host" / "models"
REGISTRY = MODELS_DIR / "registry.toml"


def cache_models_dir() -> Path:
    base = os.environ.get("CHIMERA_CACHE") or str(Path.home() / ".cache" / "chimera")
    return Path(base) / "models"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_registry(path: Path = REGISTRY) -> dict[str, dict]:
    with open(path, "rb") as f:
        reg = tomllib.load(f)
    return {m["id"]: m for m in reg["model"]}


def model_path(m: dict, models_dir: Path = MODELS_DIR) -> Path:
    """Where a manifest's file lives: committed ones in host/models/, exported
    ones (`export = true`) in $CHIMERA_CACHE/models/<sha256>/<file>."""
    if m.get("export", False):
        return cache_models_dir() / m["sha256"] / m["file"]
    return models_dir / m["file"]


# --------------------------------------------------------------------------
# Canonical TorchScript files
# --------------------------------------------------------------------------

def require_hash_seed() -> None:
    """TorchScript prints `Final` constants in Python set order, which string
    hash randomization changes from process to process: exports are byte-stable
    only with PYTHONHASHSEED=0 (build.py re-executes itself with it)."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        raise SystemExit("run with PYTHONHASHSEED=0 (build.py does this itself)")


def save_torchscript(module: torch.jit.ScriptModule, path: Path) -> str:
    """torch.jit.save, made byte-reproducible: saved through a buffer (the zip's
    top folder is then always `archive/`, not the file's name) and rewritten
    without the `*.debug_pkl` records, which hold absolute paths of the Python
    sources (this clone, the venv). Records are copied in torch's own order by
    torch's own writer (stored, 64-byte aligned). Returns the file's sha256."""
    require_hash_seed()
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    raw = buf.getvalue()
    names = [i.filename.split("/", 1)[1] for i in zipfile.ZipFile(io.BytesIO(raw)).infolist()]
    reader = torch._C.PyTorchFileReader(io.BytesIO(raw))
    out = io.BytesIO()
    writer = torch._C.PyTorchFileWriter(out)
    for name in names:
        if name.endswith(".debug_pkl") or name == ".data/serialization_id":
            continue  # the writer adds its own (content-derived) serialization id
        data = reader.get_record(name)
        writer.write_record(name, data, len(data))
    writer.write_end_of_file()
    data = out.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return hashlib.sha256(data).hexdigest()


def script_frozen_params(model: torch.nn.Module) -> torch.jit.ScriptModule:
    model = model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return torch.jit.script(model)


def deterministic(seed: int, threads: int) -> None:
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------
# The executor's RNG: ChaCha20, key = seed (u64 LE) || 24 zero bytes, nonce 0,
# block counter from 0; the keystream is read as consecutive little-endian
# u64s. Rust: rand_chacha::ChaCha20Rng::from_seed(key) and next_u64().
# --------------------------------------------------------------------------

_SIGMA = np.array([0x61707865, 0x3320646E, 0x79622D32, 0x6B206574], dtype=np.uint32)


def _rotl(a, n):
    return (a << np.uint32(n)) | (a >> np.uint32(32 - n))


def chacha20_blocks(key: bytes, counter: int, n: int) -> np.ndarray:
    """n ChaCha20 blocks (djb layout: 64-bit counter in words 12-13, 64-bit
    nonce 0 in words 14-15) as an (n, 16) uint32 array."""
    s = np.zeros((n, 16), dtype=np.uint32)
    s[:, 0:4] = _SIGMA
    s[:, 4:12] = np.frombuffer(key, dtype="<u4")
    ctr = np.arange(counter, counter + n, dtype=np.uint64)
    s[:, 12] = (ctr & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    s[:, 13] = (ctr >> np.uint64(32)).astype(np.uint32)
    x = s.copy()

    def qr(a, b, c, d):
        x[:, a] += x[:, b]; x[:, d] = _rotl(x[:, d] ^ x[:, a], 16)
        x[:, c] += x[:, d]; x[:, b] = _rotl(x[:, b] ^ x[:, c], 12)
        x[:, a] += x[:, b]; x[:, d] = _rotl(x[:, d] ^ x[:, a], 8)
        x[:, c] += x[:, d]; x[:, b] = _rotl(x[:, b] ^ x[:, c], 7)

    with np.errstate(over="ignore"):
        for _ in range(10):
            qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
            qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
        x += s
    return x


class ChaCha:
    """Seeded like the executor: ChaCha(seed).next_u64() == Rust's
    ChaCha20Rng::from_seed(seed.to_le_bytes() ++ [0; 24]).next_u64()."""

    def __init__(self, seed: int):
        self.key = int(seed).to_bytes(8, "little") + bytes(24)
        self.block = 0
        self.buf = np.zeros(0, dtype=np.uint64)

    def u64s(self, n: int) -> np.ndarray:
        while self.buf.size < n:
            nb = max(128, (n - self.buf.size + 7) // 8)  # prefetch: same stream
            words = chacha20_blocks(self.key, self.block, nb)
            self.block += nb
            stream = np.frombuffer(words.astype("<u4").tobytes(), dtype="<u8")
            self.buf = np.concatenate([self.buf, stream.astype(np.uint64)])
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def next_u64(self) -> int:
        return int(self.u64s(1)[0])

    def uniform(self) -> float:
        """u = (next_u64 >> 11) * 2^-53, in [0, 1)."""
        return (self.next_u64() >> 11) * 2.0 ** -53

    def normals(self, n: int) -> np.ndarray:
        """n standard normals (f32) by Box-Muller in f64: per pair of u64s
        (a, b): u1 = ((a >> 11) + 1) * 2^-53 in (0, 1], u2 = (b >> 11) * 2^-53,
        r = sqrt(-2 ln u1), z0 = r cos(2 pi u2), z1 = r sin(2 pi u2); emitted
        z0, z1, z0, z1, ...; an odd n drops the last z1 (its u64s are spent)."""
        pairs = (n + 1) // 2
        raw = self.u64s(2 * pairs)
        out = []
        for i in range(pairs):
            u1 = ((int(raw[2 * i]) >> 11) + 1) * 2.0 ** -53
            u2 = (int(raw[2 * i + 1]) >> 11) * 2.0 ** -53
            r = math.sqrt(-2.0 * math.log(u1))
            out.append(r * math.cos(2.0 * math.pi * u2))
            out.append(r * math.sin(2.0 * math.pi * u2))
        return np.array(out[:n], dtype=np.float32)


# --------------------------------------------------------------------------
# DDPM (digits-ddpm): schedule and ancestral sampling, exactly as docs/models.md
# --------------------------------------------------------------------------

def ddpm_schedule(T: int, beta_start: float, beta_end: float) -> tuple[list[float], list[float]]:
    """betas[t] = beta_start + (beta_end - beta_start) * t / (T - 1) and
    abar[t] = prod_{s<=t} (1 - betas[s]), all in f64, left to right."""
    betas = [beta_start + (beta_end - beta_start) * t / (T - 1) for t in range(T)]
    abar, acc = [], 1.0
    for b in betas:
        acc *= 1.0 - b
        abar.append(acc)
    return betas, abar


def ddpm_timesteps(T: int, steps: int) -> list[int]:
    """tau_i = floor(i * T / steps), i = 0..steps-1 (ascending; steps = T: all)."""
    assert 1 <= steps <= T
    return [(i * T) // steps for i in range(steps)]


def ddpm_sample(net, y: list[int], seeds: list[int], cfg: dict, steps: int | None = None,
                device: str = "cpu") -> torch.Tensor:
    """Ancestral sampling of len(y) images, request k drawing from ChaCha(seeds[k]).
    Returns x_0 in [-1, 1], f32[N, 1, S, S], on the CPU. The noise is drawn on
    the CPU (ChaCha) and moved to `device`, as the Rust executor does."""
    T, S = int(cfg["timesteps"]), int(cfg["image_size"])
    steps = int(steps or cfg["steps"])
    _, abar = ddpm_schedule(T, float(cfg["beta_start"]), float(cfg["beta_end"]))
    taus = ddpm_timesteps(T, steps)
    rngs = [ChaCha(s) for s in seeds]
    n = len(y)

    def noise():
        return torch.from_numpy(np.stack([r.normals(S * S) for r in rngs])).reshape(n, 1, S, S).to(device)

    x = noise()
    yt = torch.tensor(y, dtype=torch.int64, device=device)
    with torch.no_grad():
        for i in reversed(range(steps)):
            t = taus[i]
            ab = abar[t]
            ab_prev = abar[taus[i - 1]] if i > 0 else 1.0
            beta = 1.0 - ab / ab_prev
            eps = net(x, torch.full((n,), t, dtype=torch.int64, device=device), yt)
            ca = np.float32(1.0 / math.sqrt(ab)).item()
            cb = np.float32(math.sqrt(1.0 / ab - 1.0)).item()
            x0 = (x * ca - eps * cb).clamp(-1.0, 1.0)
            c1 = np.float32(math.sqrt(ab_prev) * beta / (1.0 - ab)).item()
            c2 = np.float32(math.sqrt(1.0 - beta) * (1.0 - ab_prev) / (1.0 - ab)).item()
            mean = x0 * c1 + x * c2
            if i > 0:
                sd = np.float32(math.sqrt(beta * (1.0 - ab_prev) / (1.0 - ab))).item()
                x = mean + noise() * sd
            else:
                x = mean
    return x.clamp(-1.0, 1.0).cpu()


def image_u8(x: torch.Tensor) -> np.ndarray:
    """[-1, 1] -> u8: floor((x + 1) * 127.5 + 0.5), clamped to 0..255."""
    return np.clip(np.floor((x.numpy().astype(np.float64) + 1.0) * 127.5 + 0.5), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------
# Byte LM (tiny-lm): seeded temperature / top-k sampling, exactly as docs/models.md
# --------------------------------------------------------------------------

LM_ALLOWED = [10] + list(range(32, 127))  # '\n' and printable ASCII


def lm_pick(logits: np.ndarray, temperature: float, top_k: int, rng: ChaCha) -> int:
    """One token from the last position's f32 logits."""
    cand = [(float(logits[i]), i) for i in LM_ALLOWED]
    cand.sort(key=lambda c: (-c[0], c[1]))  # logit desc, then index asc
    if temperature == 0.0:
        return cand[0][1]
    if top_k > 0:
        cand = cand[:top_k]
    top = cand[0][0]
    w = [math.exp((l - top) / temperature) for l, _ in cand]
    total = 0.0
    cum = []
    for v in w:
        total += v
        cum.append(total)
    u = rng.uniform()  # always drawn when temperature > 0, even if top_k = 1
    target = u * total
    for (_, idx), c in zip(cand, cum):
        if c > target:
            return idx
    return cand[-1][1]


def lm_generate(net, prompt: bytes, seed: int, cfg: dict, params: dict, device: str = "cpu") -> bytes:
    ctx = int(cfg["context"])
    prefix = cfg["prefix"].encode()
    temperature = float(params.get("temperature", "0.8"))
    top_k = int(params.get("top_k", "40"))
    max_tokens = int(params.get("max_tokens", "64"))
    rng = ChaCha(seed)
    toks = list(prefix + prompt)
    out = []
    with torch.no_grad():
        for _ in range(max_tokens):
            window = toks[-ctx:]
            logits = net(torch.tensor([window], dtype=torch.int64, device=device))[0, -1].cpu().numpy()
            nxt = lm_pick(logits, temperature, top_k, rng)
            toks.append(nxt)
            out.append(nxt)
    return bytes(out)
