"""The networks of Chimera's model zoo, as plain torch modules that script
cleanly (no transformers / sentence-transformers code in any exported graph).
Hyper-parameters live in build.py's RECIPES; docs/models.md describes each."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


# --------------------------------------------------------------------------
# digits-cnn: (x f32[N,1,8,8] in [0,1]) -> logits f32[N,10]
# --------------------------------------------------------------------------

class DigitsCNN(nn.Module):
    def __init__(self, c1: int = 32, c2: int = 64, hidden: int = 128, dropout: float = 0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.fc1 = nn.Linear(c2 * 4 * 4, hidden)
        self.fc2 = nn.Linear(hidden, 10)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = self.drop(F.relu(self.fc1(x.flatten(1))))
        return self.fc2(x)


# --------------------------------------------------------------------------
# digits-ddpm: eps-net (x_t f32[N,1,S,S], t i64[N], y i64[N]) -> eps f32[N,1,S,S]
# --------------------------------------------------------------------------

def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=t.device) * (-math.log(10000.0) / half))
    args = t.to(torch.float32)[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


@torch.jit.unused
def _upsample2x_eager(h: torch.Tensor) -> torch.Tensor:
    return F.interpolate(h, scale_factor=2.0, mode="nearest")


def upsample2x(h: torch.Tensor) -> torch.Tensor:
    """Exact 2x nearest upsampling. Training (eager) uses F.interpolate, so the
    trained weights are those of the first release bit for bit; the scripted
    graph copies the same values with repeat_interleave, because TorchScript
    inlines F.interpolate's Python body, which names ops that newer torch
    builds add (aten::_upsample_lanczos2d_aa in 2.13): a file scripted by one
    torch would not load in an older one, as on a GPU validator's."""
    if torch.jit.is_scripting():
        return h.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    return _upsample2x_eager(h)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb: int, groups: int = 8):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(e)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class DigitsEpsNet(nn.Module):
    """A two-level U-Net for S x S images (S even) with time and class embeddings."""

    def __init__(self, ch: int = 32, emb: int = 128, tdim: int = 64, classes: int = 10):
        super().__init__()
        self.tdim = tdim
        self.t_mlp = nn.Sequential(nn.Linear(tdim, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.y_emb = nn.Embedding(classes, emb)
        self.conv_in = nn.Conv2d(1, ch, 3, padding=1)
        self.down1 = ResBlock(ch, ch, emb)
        self.downsample = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
        self.down2 = ResBlock(ch, 2 * ch, emb)
        self.mid = ResBlock(2 * ch, 2 * ch, emb)
        self.up1 = ResBlock(3 * ch, ch, emb)
        self.up2 = ResBlock(ch, ch, emb)
        self.norm_out = nn.GroupNorm(8, ch)
        self.conv_out = nn.Conv2d(ch, 1, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        e = F.silu(self.t_mlp(timestep_embedding(t, self.tdim)) + self.y_emb(y))
        h1 = self.down1(self.conv_in(x), e)
        h = self.down2(self.downsample(h1), e)
        h = self.mid(h, e)
        h = upsample2x(h)
        h = self.up1(torch.cat([h, h1], dim=1), e)
        h = self.up2(h, e)
        return self.conv_out(F.silu(self.norm_out(h)))


# --------------------------------------------------------------------------
# tiny-lm: (tokens i64[N,L], 1 <= L <= context) -> logits f32[N,L,256]
# --------------------------------------------------------------------------

class Block(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.out = nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, l, d = x.shape
        hd = d // self.heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q = q.view(n, l, self.heads, hd).transpose(1, 2)
        k = k.view(n, l, self.heads, hd).transpose(1, 2)
        v = v.view(n, l, self.heads, hd).transpose(1, 2)
        att = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(hd))
        att = torch.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(n, l, d)
        x = x + self.proj(y)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class TinyLM(nn.Module):
    """Pre-LayerNorm byte-level GPT with learned positions and a tied output head."""

    def __init__(self, vocab: int = 256, context: int = 128, d: int = 128, layers: int = 4, heads: int = 4):
        super().__init__()
        self.context = context
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(context, d)
        self.blocks = nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        for mod in self.modules():  # GPT-2 style init; the tied head needs small embeddings
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                nn.init.normal_(mod.weight, mean=0.0, std=0.02)
            if isinstance(mod, nn.Linear):
                nn.init.zeros_(mod.bias)
        for blk in self.blocks:
            nn.init.normal_(blk.proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * layers))
            nn.init.normal_(blk.out.weight, mean=0.0, std=0.02 / math.sqrt(2 * layers))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        l = tokens.shape[1]
        pos = torch.arange(l, dtype=torch.int64, device=tokens.device)
        x = self.tok(tokens) + self.pos(pos)[None, :, :]
        mask = torch.ones(l, l, dtype=torch.bool, device=tokens.device).triu(1)
        for blk in self.blocks:
            x = blk(x, mask)
        return torch.matmul(self.ln_f(x), self.tok.weight.t())


# --------------------------------------------------------------------------
# minilm-l6: all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide, 12 heads) + mean
# pooling + L2 normalisation.
# (input_ids i64[N,L], attention_mask i64[N,L], L <= 512) -> f32[N,384]
# State-dict names match the shipped model.safetensors (less the pooler).
# --------------------------------------------------------------------------

class _BertEmbeddings(nn.Module):
    def __init__(self, vocab: int, d: int, max_pos: int, types: int, eps: float):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, d)
        self.position_embeddings = nn.Embedding(max_pos, d)
        self.token_type_embeddings = nn.Embedding(types, d)
        self.LayerNorm = nn.LayerNorm(d, eps=eps)


class _Linear(nn.Module):
    def __init__(self, din: int, dout: int):
        super().__init__()
        self.dense = nn.Linear(din, dout)


class _LinearNorm(nn.Module):
    def __init__(self, din: int, dout: int, eps: float):
        super().__init__()
        self.dense = nn.Linear(din, dout)
        self.LayerNorm = nn.LayerNorm(dout, eps=eps)


class _SelfAttn(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)


class _Attention(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.self = _SelfAttn(d)
        self.output = _LinearNorm(d, d, eps)


class BertLayer(nn.Module):
    def __init__(self, d: int, heads: int, inter: int, eps: float):
        super().__init__()
        self.heads = heads
        self.attention = _Attention(d, eps)
        self.intermediate = _Linear(d, inter)
        self.output = _LinearNorm(inter, d, eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        n, l, d = x.shape
        hd = d // self.heads
        a = self.attention.self
        q = a.query(x).view(n, l, self.heads, hd).transpose(1, 2)
        k = a.key(x).view(n, l, self.heads, hd).transpose(1, 2)
        v = a.value(x).view(n, l, self.heads, hd).transpose(1, 2)
        s = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(hd)) + bias
        y = torch.matmul(torch.softmax(s, dim=-1), v).transpose(1, 2).reshape(n, l, d)
        o = self.attention.output
        x = o.LayerNorm(o.dense(y) + x)
        h = F.gelu(self.intermediate.dense(x))
        return self.output.LayerNorm(self.output.dense(h) + x)


class _Encoder(nn.Module):
    def __init__(self, layers: int, d: int, heads: int, inter: int, eps: float):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(d, heads, inter, eps) for _ in range(layers)])


class MiniLMEmbedder(nn.Module):
    def __init__(self, vocab: int = 30522, d: int = 384, layers: int = 6, heads: int = 12,
                 inter: int = 1536, max_pos: int = 512, types: int = 2, eps: float = 1e-12):
        super().__init__()
        self.embeddings = _BertEmbeddings(vocab, d, max_pos, types, eps)
        self.encoder = _Encoder(layers, d, heads, inter, eps)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        l = input_ids.shape[1]
        emb = self.embeddings
        pos = torch.arange(l, dtype=torch.int64, device=input_ids.device)[None, :]
        x = emb.word_embeddings(input_ids) + emb.position_embeddings(pos) \
            + emb.token_type_embeddings(torch.zeros_like(input_ids))
        x = emb.LayerNorm(x)
        m = attention_mask.to(torch.float32)
        bias = ((1.0 - m) * -3.4028234663852886e38)[:, None, None, :]
        for layer in self.encoder.layer:
            x = layer(x, bias)
        mm = m[:, :, None]
        pooled = (x * mm).sum(1) / mm.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, p=2.0, dim=1)
