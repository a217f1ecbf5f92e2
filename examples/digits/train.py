#!/usr/bin/env python3
"""Trains four small CNNs on scikit-learn's 8x8 digits and exports three of
them as mbnn network files (examples/digits/).

    python examples/digits/train.py [--out DIR] [--epochs N] [--quick] [--check]

Networks (same topology: 8x8x1 -> conv3x3 16 -> conv3x3 12 -> maxpool 2 ->
conv3x3 16 -> maxpool 2 -> dense (conv 2x2 valid) 10 -> argmax; the widths
are the ones whose Group-Net fits the iCEBreaker's UP5K, UART top
included, at 10,000 images/s):

- float:       real weights, batch norm, ReLU (reference, not exported).
- binary:      Group-Net form with K = 1, all dilations 1 (XNOR-style).
- groupnet_k3: Group-Net, K = 3 binary lanes, BPAC dilations [1,2,3] in
               L2 and L3, optional fusion gate after L2.
- panet_m4n5:  PA-Net, M = 4 weight bases, N = 5 activation bases.

Data: sklearn.datasets.load_digits(), pixels 0..16 clipped to 15 so that
they fit the 4-bit unsigned input (x = min(v, 15)); split with
train_test_split(test_size=0.2, random_state=0, stratify=y).

Training is numpy only (im2col convs with dilation and zero padding, batch
norm, max pool, softmax cross-entropy, Adam, cosine learning-rate decay),
float32, deterministic (fixed seeds, deterministic +-1 pixel shifts).
Binary nets: latent real weights clipped to [-1, 1], sign with the
straight-through estimator (gradient 1 where |pre-activation| <= 1).
PA-Net: whole-layer piecewise weight quantiser (std cut, piece means),
straight-through to the latent weights; activation quantiser with learned
increasing betas (cumsum of softplus) and endpoints at the midpoints
between consecutive levels (0, beta_1, ..., beta_5).

Every reported accuracy is computed by `forward_network` (float64) from the
exported files as read back from disk, following the hardware arithmetic.
`--check` re-evaluates a few test images with an independent loop-by-loop
reference and asserts the same class.
"""

import argparse
import json
import math
import os
import sys
import time

# Single-threaded BLAS: faster on these small matrices and run-to-run reproducible.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

try:
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
except ImportError as exc:  # pragma: no cover
    sys.exit(f"train.py: {getattr(exc, 'name', None) or exc} is missing: run `make setup` (numpy and scikit-learn in .venv)")

SEED = 0
HERE = os.path.dirname(os.path.abspath(__file__))
EPS = 1e-5
CH = (16, 12, 16)
EPOCHS = {"float": 30, "binary": 90, "groupnet_k3": 160, "panet_m4n5": 60}
QUICK_EPOCHS = 2
GN_DIL2 = [1, 2, 3]
GN_DIL3 = [1, 2, 3]
USE_FUSION = True
PA_PIXEL_ENDPOINTS = [1, 4, 7, 10, 13]
PA_PHI_TARGET = 4.0  # export scale: max |alpha_i beta_j| of each pa layer
FILES = {"binary": "binary.json", "groupnet_k3": "groupnet_k3.json", "panet_m4n5": "panet_m4n5.json"}
DT = np.float32


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Data


def load_data():
    d = load_digits()
    X = np.minimum(d.data.astype(np.int64), 15).reshape(-1, 8, 8)
    y = d.target.astype(np.int64)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    return Xtr, Xte, ytr, yte


def shift_batch(x, rng):
    """Each image shifted by (dy, dx) in {-1,0,1}^2 (zero fill), drawn from rng."""
    B = x.shape[0]
    s = rng.integers(-1, 2, size=(B, 2))
    out = np.zeros_like(x)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            m = (s[:, 0] == dy) & (s[:, 1] == dx)
            if m.any():
                out[m] = xp[m, 1 - dy:9 - dy, 1 - dx:9 - dx]
    return out


# ---------------------------------------------------------------------------
# Building blocks (NHWC; weights [cout, (ky*k + kx)*cin + c])


def im2col(x, k, d, pad):
    B, H, W, C = x.shape
    if pad:
        xp = np.zeros((B, H + 2 * pad, W + 2 * pad, C), x.dtype)
        xp[:, pad:pad + H, pad:pad + W] = x
    else:
        xp = x
    Ho, Wo = H + 2 * pad - d * (k - 1), W + 2 * pad - d * (k - 1)
    cols = np.empty((B, Ho, Wo, k * k, C), x.dtype)
    for ky in range(k):
        for kx in range(k):
            cols[:, :, :, ky * k + kx, :] = xp[:, ky * d:ky * d + Ho, kx * d:kx * d + Wo, :]
    return cols.reshape(B, Ho, Wo, k * k * C)


def col2im(dcols, shape, k, d, pad):
    B, H, W, C = shape
    Ho, Wo = dcols.shape[1], dcols.shape[2]
    dc = dcols.reshape(B, Ho, Wo, k * k, C)
    dxp = np.zeros((B, H + 2 * pad, W + 2 * pad, C), dcols.dtype)
    for ky in range(k):
        for kx in range(k):
            dxp[:, ky * d:ky * d + Ho, kx * d:kx * d + Wo, :] += dc[:, :, :, ky * k + kx, :]
    return dxp[:, pad:pad + H, pad:pad + W]


def pool_fwd(z):
    B, H, W, C = z.shape
    r = z.reshape(B, H // 2, 2, W // 2, 2, C).transpose(0, 1, 3, 5, 2, 4).reshape(B, H // 2, W // 2, C, 4)
    idx = r.argmax(-1)
    return np.take_along_axis(r, idx[..., None], -1)[..., 0], (idx, z.shape)


def pool_bwd(g, cache):
    idx, shape = cache
    B, H, W, C = shape
    r = np.zeros((B, H // 2, W // 2, C, 4), g.dtype)
    np.put_along_axis(r, idx[..., None], g[..., None], -1)
    return r.reshape(B, H // 2, W // 2, C, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(shape)


class BN:
    """Batch norm over all axes but the last; mode 'train' (batch stats,
    running update), 'eval' (running stats), 'calib' (batch stats stored as
    the running stats)."""

    def __init__(self, p, name, c):
        self.p, self.g, self.b = p, name + "_g", name + "_b"
        p[self.g] = np.ones(c, DT)
        p[self.b] = np.zeros(c, DT)
        self.mean = np.zeros(c, np.float64)
        self.var = np.ones(c, np.float64)

    def fwd(self, y, mode):
        axes = tuple(range(y.ndim - 1))
        if mode == "eval":
            mu, var = self.mean.astype(DT), self.var.astype(DT)
        else:
            mu = y.mean(axes)
            var = ((y - mu) ** 2).mean(axes)
            if mode == "train":
                self.mean = 0.9 * self.mean + 0.1 * mu
                self.var = 0.9 * self.var + 0.1 * var
            else:
                self.mean, self.var = mu.astype(np.float64), var.astype(np.float64)
        inv = 1.0 / np.sqrt(var + EPS)
        xh = (y - mu) * inv
        self.cache = (xh, inv)
        return self.p[self.g] * xh + self.p[self.b]

    def bwd(self, dz, grads):
        xh, inv = self.cache
        axes = tuple(range(dz.ndim - 1))
        n = dz.size // dz.shape[-1]
        grads[self.g] = (dz * xh).sum(axes)
        grads[self.b] = dz.sum(axes)
        dxh = dz * self.p[self.g]
        return (inv / n) * (n * dxh - dxh.sum(axes) - xh * (dxh * xh).sum(axes))

    def export(self):
        return {"gamma": self.p[self.g].tolist(), "beta": self.p[self.b].tolist(),
                "mean": self.mean.tolist(), "var": self.var.tolist(), "eps": EPS}


def sgn(w):
    return np.where(w >= 0, 1.0, -1.0).astype(DT)


def softmax_ce(logits, y):
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(1, keepdims=True)
    B = len(y)
    loss = -np.log(p[np.arange(B), y] + 1e-12).mean()
    g = p.copy()
    g[np.arange(B), y] -= 1
    return float(loss), (g / B).astype(DT)


class Adam:
    def __init__(self, params, lr):
        self.lr, self.t = lr, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params, grads, lr):
        self.t += 1
        b1, b2 = 0.9, 0.999
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for k, g in grads.items():
            g = g.astype(DT)
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            params[k] -= (lr * (self.m[k] / c1) / (np.sqrt(self.v[k] / c2) + 1e-8)).astype(DT)


def init_w(rng, shape, std):
    return (rng.standard_normal(shape) * std).astype(DT)


def conv_weights(rng):
    """The real weights of the three convs and the dense layer (He init)."""
    c1, c2, c3 = CH
    return {
        "W1": init_w(rng, (c1, 9), math.sqrt(2 / 9)),
        "W2": init_w(rng, (c2, 9 * c1), math.sqrt(2 / (9 * c1))),
        "W3": init_w(rng, (c3, 9 * c2), math.sqrt(2 / (9 * c2))),
        "Wd": init_w(rng, (10, 4 * c3), math.sqrt(1 / (4 * c3))),
    }


# ---------------------------------------------------------------------------
# Float reference


class FloatNet:
    lr = 3e-3

    def __init__(self, rng):
        p = self.p = conv_weights(rng)
        p["bd"] = np.zeros(10, DT)
        self.bn = [BN(p, f"bn{i}", c) for i, c in zip((1, 2, 3), CH)]

    def post_step(self):
        pass

    def forward(self, x, mode):
        p, c = self.p, {}
        x = x / DT(15)
        c["c1"] = im2col(x, 3, 1, 1)
        z1 = self.bn[0].fwd(c["c1"] @ p["W1"].T, mode)
        a1 = np.maximum(z1, 0)
        c["z1"] = z1
        c["c2"] = im2col(a1, 3, 1, 1)
        z2 = self.bn[1].fwd(c["c2"] @ p["W2"].T, mode)
        c["z2"] = z2
        p2, c["p2"] = pool_fwd(np.maximum(z2, 0))
        c["a2s"] = p2.shape
        c["c3"] = im2col(p2, 3, 1, 1)
        z3 = self.bn[2].fwd(c["c3"] @ p["W3"].T, mode)
        c["z3"] = z3
        p3, c["p3"] = pool_fwd(np.maximum(z3, 0))
        c["f"] = p3.reshape(len(x), -1)
        self.c = c
        return c["f"] @ p["Wd"].T + p["bd"]

    def backward(self, g):
        p, c, G = self.p, self.c, {}
        B = g.shape[0]
        G["Wd"] = g.T @ c["f"]
        G["bd"] = g.sum(0)
        dp3 = (g @ p["Wd"]).reshape(B, 2, 2, -1)
        dz3 = pool_bwd(dp3, c["p3"]) * (c["z3"] > 0)
        dy3 = self.bn[2].bwd(dz3, G)
        G["W3"] = dy3.reshape(-1, dy3.shape[-1]).T @ c["c3"].reshape(-1, c["c3"].shape[-1])
        da2 = col2im(dy3 @ p["W3"], c["a2s"], 3, 1, 1)
        dz2 = pool_bwd(da2, c["p2"]) * (c["z2"] > 0)
        dy2 = self.bn[1].bwd(dz2, G)
        G["W2"] = dy2.reshape(-1, dy2.shape[-1]).T @ c["c2"].reshape(-1, c["c2"].shape[-1])
        da1 = col2im(dy2 @ p["W2"], c["z1"].shape, 3, 1, 1)
        dy1 = self.bn[0].bwd(da1 * (c["z1"] > 0), G)
        G["W1"] = dy1.reshape(-1, dy1.shape[-1]).T @ c["c1"].reshape(-1, 9)
        return G


# ---------------------------------------------------------------------------
# Group-Net (K binary lanes); K = 1 with dilations 1 is the binary baseline


def flat2(a):
    return a.reshape(-1, a.shape[-1])


class GroupNet:
    lr = 5e-3

    def __init__(self, rng, K, dil2, dil3, fusion):
        c1, c2, c3 = CH
        self.K, self.dil2, self.dil3, self.fusion = K, dil2, dil3, fusion
        p = self.p = {}
        p["W1"] = init_w(rng, (K, c1, 9), 0.1)
        p["W2"] = init_w(rng, (K, c2, 9 * c1), 0.1)
        p["W3"] = init_w(rng, (K, c3, 9 * c2), 0.1)
        p["Wd"] = init_w(rng, (K, 10, 4 * c3), 0.1)
        # lambdas = exp(rho): positive, and Adam steps are relative (a lambda cannot collapse through 0)
        for n in ("l1", "l2", "l3"):
            p["r" + n] = np.full(K, math.log(1.0 / K), DT)
        p["rld"] = np.full(K, math.log(0.1 / K), DT)
        self.bn1 = BN(p, "bn1", c1)
        self.bn2 = None if fusion else BN(p, "bn2", c2)
        self.bn3 = BN(p, "bn3", c3)
        if fusion:
            p["th"] = np.zeros(K, DT)
        self.ste2 = math.sqrt(9 * c1)  # fusion: sign(u) = sign(u / ste2), STE window |u / ste2| <= 1

    def post_step(self):
        for n in ("W1", "W2", "W3", "Wd"):
            np.clip(self.p[n], -1, 1, out=self.p[n])

    def lambdas(self):
        for n in ("l1", "l2", "l3", "ld"):
            self.p[n] = np.exp(self.p["r" + n])

    def forward(self, x, mode):
        self.lambdas()
        p, c, K = self.p, {}, self.K
        B = len(x)
        c["c1"] = im2col(x, 3, 1, 1)
        c["b1"] = [sgn(p["W1"][i]) for i in range(K)]
        c["d1"] = [c["c1"] @ c["b1"][i].T for i in range(K)]
        y1 = sum(p["l1"][i] * c["d1"][i] for i in range(K))
        z1 = c["z1"] = self.bn1.fwd(y1, mode)
        a1 = sgn(z1)
        c["c2"] = [im2col(a1, 3, d, d) for d in self.dil2]
        c["b2"] = [sgn(p["W2"][i]) for i in range(K)]
        c["d2"] = [c["c2"][i] @ c["b2"][i].T for i in range(K)]
        if not self.fusion:
            y2 = sum(p["l2"][i] * c["d2"][i] for i in range(K))
            z2 = self.bn2.fwd(y2, mode)
            p2, c["p2"] = pool_fwd(z2)
            c["pv2"] = p2
            ins3 = [sgn(p2)] * K
        else:
            C = 1 / (1 + np.exp(-p["th"].astype(np.float64)))
            c["C"] = C = C.astype(DT)
            S = c["S"] = sum(p["l2"][j] * c["d2"][j] for j in range(K))
            c["p2"], c["pv2"], ins3 = [], [], []
            for i in range(K):
                u = C[i] * c["d2"][i] + (1 - C[i]) * S
                pv, pc = pool_fwd(u)
                c["p2"].append(pc)
                c["pv2"].append(pv)
                ins3.append(sgn(pv))
        c["a2s"] = ins3[0].shape
        c["c3"] = [im2col(ins3[i], 3, d, d) for i, d in enumerate(self.dil3)]
        c["b3"] = [sgn(p["W3"][i]) for i in range(K)]
        c["d3"] = [c["c3"][i] @ c["b3"][i].T for i in range(K)]
        y3 = sum(p["l3"][i] * c["d3"][i] for i in range(K))
        z3 = self.bn3.fwd(y3, mode)
        p3, c["p3"] = pool_fwd(z3)
        c["pv3"] = p3
        c["f"] = sgn(p3).reshape(B, -1)
        c["bd"] = [sgn(p["Wd"][i]) for i in range(K)]
        c["dd"] = [c["f"] @ c["bd"][i].T for i in range(K)]
        self.c = c
        return sum(p["ld"][i] * c["dd"][i] for i in range(K))

    def _lane_grads(self, G, name, lname, dy, dots, cols, bins):
        K = self.K
        G[lname] = np.array([(dy * dots[i]).sum() for i in range(K)], DT)
        G[name] = np.stack([flat2(self.p[lname][i] * dy).T @ flat2(cols[i]) for i in range(K)])
        return [(self.p[lname][i] * dy) @ bins[i] for i in range(K)]

    def backward(self, g):
        p, c, G, K = self.p, self.c, {}, self.K
        B = g.shape[0]
        dcols = self._lane_grads(G, "Wd", "ld", g, c["dd"], [c["f"]] * K, c["bd"])
        dp3 = sum(dcols).reshape(c["pv3"].shape) * (np.abs(c["pv3"]) <= 1)
        dy3 = self.bn3.bwd(pool_bwd(dp3, c["p3"]), G)
        dcols = self._lane_grads(G, "W3", "l3", dy3, c["d3"], c["c3"], c["b3"])
        din3 = [col2im(dcols[i], c["a2s"], 3, d, d) for i, d in enumerate(self.dil3)]
        if not self.fusion:
            dp2 = sum(din3) * (np.abs(c["pv2"]) <= 1)
            dy2 = self.bn2.bwd(pool_bwd(dp2, c["p2"]), G)
            ddots2 = [p["l2"][i] * dy2 for i in range(K)]
            G["l2"] = np.array([(dy2 * c["d2"][i]).sum() for i in range(K)], DT)
        else:
            C, S, s = c["C"], c["S"], self.ste2
            du = [pool_bwd(din3[i] * (np.abs(c["pv2"][i]) <= s) / s, c["p2"][i]) for i in range(K)]
            dS = sum((1 - C[i]) * du[i] for i in range(K))
            dC = np.array([(du[i] * (c["d2"][i] - S)).sum() for i in range(K)])
            G["th"] = (dC * C * (1 - C)).astype(DT)
            G["l2"] = np.array([(dS * c["d2"][j]).sum() for j in range(K)], DT)
            ddots2 = [C[i] * du[i] + p["l2"][i] * dS for i in range(K)]
        G["W2"] = np.stack([flat2(ddots2[i]).T @ flat2(c["c2"][i]) for i in range(K)])
        da1 = sum(col2im(ddots2[i] @ c["b2"][i], c["z1"].shape, 3, d, d) for i, d in enumerate(self.dil2))
        dy1 = self.bn1.bwd(da1 * (np.abs(c["z1"]) <= 1), G)
        dcols = self._lane_grads(G, "W1", "l1", dy1, c["d1"], [c["c1"]] * K, c["b1"])
        for n in ("l1", "l2", "l3", "ld"):
            G["r" + n] = G.pop(n) * p[n]
        return G

    def rescale_lambdas(self):
        """Export scale: max |lambda| = 1 on every layer whose output is
        scale-free (batch norm + sign, or the dense argmax); not the fusion layer."""
        for n in ("l1", "l2", "l3", "ld"):
            if n == "l2" and self.fusion:
                continue
            self.p["r" + n] -= self.p["r" + n].max()
        self.lambdas()

    def export(self, name, comment):
        p, K = self.p, self.K
        c1, c2, c3 = CH

        def lanes(W):
            return [W[i].tolist() for i in range(K)]

        def geo(h, cin, cout, kern, pad, dil):
            return {"scheme": "groupnet_conv", "height": h, "width": h, "cin": cin, "cout": cout, "kernel": kern,
                    "stride": 1, "padding": pad, "dilations": dil}

        l1 = geo(8, 1, c1, 3, "same", [1] * K)
        l1.update(input_bits=4, weights=lanes(p["W1"]), lambdas=p["l1"].tolist(), batch_norm=self.bn1.export())
        l2 = geo(8, c1, c2, 3, "same", list(self.dil2))
        l2.update(weights=lanes(p["W2"]), lambdas=p["l2"].tolist())
        if self.fusion:
            l2["fusion_thetas"] = p["th"].tolist()
        else:
            l2["batch_norm"] = self.bn2.export()
        l3 = geo(4, c2, c3, 3, "same", list(self.dil3))
        if self.fusion:
            l3["shared_input"] = False
        l3.update(weights=lanes(p["W3"]), lambdas=p["l3"].tolist(), batch_norm=self.bn3.export())
        ld = geo(2, c3, 10, 2, "valid", [1] * K)
        ld.update(weights=lanes(p["Wd"]), lambdas=p["ld"].tolist())
        return network(name, comment, [("conv", l1), ("conv", l2), 2, ("conv", l3), 2, ("dense", ld)])


# The folding (pe, simd) of each engine layer in the exported files: what
# `mbnn gen --network groupnet_k3.json --target-fps 15000 --board icebreaker`
# chooses for the Group-Net (3456 cycles an image, 22 of the UP5K's 30
# block RAMs estimated). The chooser assumes the iCEBreaker at 52 MHz; the
# Group-Net's UART top places at about 40, where 3456 cycles still give
# 10,000 images/s. All three networks get it, so that they compare at one
# rate.
FOLDING = [(1, 3), (2, 16), (1, 12), (1, 1)]


def network(name, comment, layers):
    out = []
    folds = iter(FOLDING)
    for item in layers:
        if isinstance(item, int):
            out.append({"kind": "maxpool", "size": item})
        else:
            pe, simd = next(folds)
            out.append({"kind": item[0], "pe": pe, "simd": simd, "model": item[1]})
    return {"top": "digits_" + name, "comment": comment,
            "input": {"height": 8, "width": 8, "channels": 1, "bits": 4}, "layers": out, "output": "argmax"}


# ---------------------------------------------------------------------------
# PA-Net


def pa_pieces(W):
    """Piece index per weight (-1 = zero piece) and the 4 piece means, the
    cut at [-1, -0.5, 0.5, 1] * std over the whole array."""
    W = np.asarray(W, np.float64)
    s = np.std(W)
    idx = np.full(W.shape, -1, np.int64)
    idx[W <= -1.0 * s] = 0
    idx[(W > -1.0 * s) & (W <= -0.5 * s)] = 1
    idx[(W >= 0.5 * s) & (W < 1.0 * s)] = 2
    idx[W >= 1.0 * s] = 3
    idx[W == 0] = -1
    alphas = np.array([W[idx == i].mean() if (idx == i).any() else 0.0 for i in range(4)])
    return idx, alphas


def pa_wq(W):
    idx, alphas = pa_pieces(W)
    return np.where(idx >= 0, alphas[np.maximum(idx, 0)], 0.0).astype(DT), alphas


def softplus(q):
    return np.log1p(np.exp(-np.abs(q))) + np.maximum(q, 0)


class ActQ:
    """Learned N = 5 level quantiser: betas = cumsum(softplus(q)) (positive,
    increasing), endpoints v_j = (beta_{j-1} + beta_j) / 2, beta_0 = 0."""

    def __init__(self, p, name, step=0.4):
        self.p, self.n = p, name
        p[name] = np.full(5, math.log(math.expm1(step)), DT)

    def betas(self):
        return np.cumsum(softplus(self.p[self.n].astype(np.float64)))

    def endpoints(self):
        b = self.betas()
        return (np.concatenate([[0.0], b[:-1]]) + b) / 2

    def fwd(self, a):
        b, v = self.betas(), self.endpoints()
        lev = np.searchsorted(v, a, side="right")
        self.cache = (a, lev, b)
        return np.concatenate([[0.0], b]).astype(DT)[lev]

    def bwd(self, g, G):
        a, lev, b = self.cache
        db = np.bincount(lev.ravel(), weights=g.ravel().astype(np.float64), minlength=6)[1:]
        q = self.p[self.n].astype(np.float64)
        G[self.n] = (np.cumsum(db[::-1])[::-1] / (1 + np.exp(-q))).astype(DT)
        return g * ((a >= 0) & (a <= b[-1]))


class PANet:
    lr = 3e-3

    def __init__(self, rng):
        p = self.p = conv_weights(rng)
        p["beta1"] = (np.array([2, 5, 8, 11, 14], DT) / 15).astype(DT)
        p["t"] = np.zeros(1, DT)  # training-only logit temperature (argmax-invariant, not exported)
        self.bn = [BN(p, f"bn{i}", c) for i, c in zip((1, 2, 3), CH)]
        self.q = [ActQ(p, n) for n in ("q2", "q3", "qd")]

    def post_step(self):
        pass

    def forward(self, x, mode):
        p, c = self.p, {}
        B = len(x)
        lev = np.searchsorted(np.array(PA_PIXEL_ENDPOINTS, DT), x, side="right")
        c["lev0"] = lev
        a0 = np.concatenate([np.zeros(1, DT), p["beta1"]])[lev]
        Wq = [pa_wq(p[n])[0] for n in ("W1", "W2", "W3", "Wd")]
        c["Wq"] = Wq
        c["c1"] = im2col(a0, 3, 1, 1)
        z1 = self.bn[0].fwd(c["c1"] @ Wq[0].T, mode)
        a1 = self.q[0].fwd(z1)
        c["a1s"] = a1.shape
        c["c2"] = im2col(a1, 3, 1, 1)
        z2 = self.bn[1].fwd(c["c2"] @ Wq[1].T, mode)
        p2, c["p2"] = pool_fwd(z2)
        a2 = self.q[1].fwd(p2)
        c["a2s"] = a2.shape
        c["c3"] = im2col(a2, 3, 1, 1)
        z3 = self.bn[2].fwd(c["c3"] @ Wq[2].T, mode)
        p3, c["p3"] = pool_fwd(z3)
        a3 = self.q[2].fwd(p3)
        c["a3s"] = a3.shape
        c["f"] = a3.reshape(B, -1)
        c["yd"] = c["f"] @ Wq[3].T
        self.c = c
        return c["yd"] * np.exp(p["t"][0])

    def backward(self, g):
        p, c, G = self.p, self.c, {}
        Wq = c["Wq"]
        G["t"] = np.array([(g * c["yd"]).sum() * np.exp(p["t"][0])], DT)
        g = g * np.exp(p["t"][0])
        G["Wd"] = g.T @ c["f"]
        da3 = self.q[2].bwd((g @ Wq[3]).reshape(c["a3s"]), G)
        dy3 = self.bn[2].bwd(pool_bwd(da3, c["p3"]), G)
        G["W3"] = flat2(dy3).T @ flat2(c["c3"])
        da2 = self.q[1].bwd(col2im(dy3 @ Wq[2], c["a2s"], 3, 1, 1), G)
        dy2 = self.bn[1].bwd(pool_bwd(da2, c["p2"]), G)
        G["W2"] = flat2(dy2).T @ flat2(c["c2"])
        da1 = self.q[0].bwd(col2im(dy2 @ Wq[1], c["a1s"], 3, 1, 1), G)
        dy1 = self.bn[0].bwd(da1, G)
        G["W1"] = flat2(dy1).T @ flat2(c["c1"])
        dcol0 = flat2(dy1 @ Wq[0]).reshape(-1)
        lev0 = im2col(c["lev0"], 3, 1, 1).reshape(-1)
        pad_mask = im2col(np.ones_like(c["lev0"]), 3, 1, 1).reshape(-1) > 0
        G["beta1"] = np.bincount(lev0[pad_mask], weights=dcol0[pad_mask].astype(np.float64), minlength=6)[1:].astype(DT)
        return G

    def rescale_weights(self):
        """Export scale: each layer's weights scaled so that max |alpha_i beta_j| = PA_PHI_TARGET
        (batch norm, recalibrated afterwards, or the argmax absorbs the scale)."""
        betas = [np.abs(self.p["beta1"]).astype(np.float64)] + [q.betas() for q in self.q]
        for n, b in zip(("W1", "W2", "W3", "Wd"), betas):
            alphas = pa_pieces(self.p[n])[1]
            self.p[n] *= DT(PA_PHI_TARGET / (np.abs(alphas).max() * b.max()))

    def export(self, name, comment):
        p = self.p
        c1, c2, c3 = CH

        def layer(h, cin, cout, kern, pad, W, ends, betas, bits):
            return {"scheme": "pa_conv", "height": h, "width": h, "cin": cin, "cout": cout, "kernel": kern,
                    "stride": 1, "padding": pad, "dilations": [1], "m": 4, "weights": W.tolist(),
                    "act_endpoints": list(ends), "betas": list(betas), "act_bits": bits, "act_frac_bits": 0,
                    "act_signed": False}

        lv = [1, 2, 3, 4, 5]
        l1 = layer(8, 1, c1, 3, "same", p["W1"], PA_PIXEL_ENDPOINTS, p["beta1"].tolist(), 4)
        l1.update(batch_norm=self.bn[0].export(), next_endpoints=self.q[0].endpoints().tolist())
        l2 = layer(8, c1, c2, 3, "same", p["W2"], lv, self.q[0].betas().tolist(), 3)
        l2.update(batch_norm=self.bn[1].export(), next_endpoints=self.q[1].endpoints().tolist())
        l3 = layer(4, c2, c3, 3, "same", p["W3"], lv, self.q[1].betas().tolist(), 3)
        l3.update(batch_norm=self.bn[2].export(), next_endpoints=self.q[2].endpoints().tolist())
        ld = layer(2, c3, 10, 2, "valid", p["Wd"], lv, self.q[2].betas().tolist(), 3)
        return network(name, comment, [("pa_conv", l1), ("pa_conv", l2), 2, ("pa_conv", l3), 2, ("dense", ld)])


# ---------------------------------------------------------------------------
# Training


def predict(model, X, mode="eval", bs=512):
    out = []
    for i in range(0, len(X), bs):
        out.append(model.forward(X[i:i + bs], mode).argmax(1))
    return np.concatenate(out)


def train(name, model, Xtr, ytr, Xte, yte, epochs, rng, bs=64):
    opt = Adam(model.p, model.lr)
    steps = epochs * ((len(Xtr) + bs - 1) // bs)
    t, every = 0, max(1, epochs // 6)
    for ep in range(1, epochs + 1):
        perm = rng.permutation(len(Xtr))
        Xa = shift_batch(Xtr[perm], rng)
        ya = ytr[perm]
        tot, correct = 0.0, 0
        for i in range(0, len(Xa), bs):
            xb, yb = Xa[i:i + bs], ya[i:i + bs]
            logits = model.forward(xb, "train")
            loss, g = softmax_ce(logits, yb)
            tot += loss * len(yb)
            correct += int((logits.argmax(1) == yb).sum())
            grads = model.backward(g)
            lr = model.lr * 0.5 * (1 + math.cos(math.pi * t / steps))
            opt.step(model.p, grads, lr)
            model.post_step()
            t += 1
        if ep % every == 0 or ep == epochs:
            te = (predict(model, Xte) == yte).mean()
            log(f"  {name:12s} epoch {ep:3d}/{epochs}  loss {tot / len(Xa):.4f}  "
                f"train(aug) {correct / len(Xa):.4f}  test {te:.4f}")
    return model


def calibrate(model, Xtr):
    """Batch-norm statistics over the whole (unshifted) training set."""
    model.forward(Xtr, "calib")


# ---------------------------------------------------------------------------
# Export and the exported arithmetic (float64, from the file as read back)


def r6(v):
    return float(f"{v:.6g}")


def round_tree(v):
    if isinstance(v, dict):
        return {k: round_tree(x) for k, x in v.items()}
    if isinstance(v, list):
        return [round_tree(x) for x in v]
    if isinstance(v, float):
        return r6(v)
    return v


def dumps(v, ind=0):
    pad = "  " * (ind + 1)
    if isinstance(v, dict):
        items = [pad + json.dumps(k) + ": " + dumps(x, ind + 1) for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * ind + "}"
    if isinstance(v, list) and any(isinstance(x, (list, dict)) for x in v):
        return "[\n" + ",\n".join(pad + dumps(x, ind + 1) for x in v) + "\n" + "  " * ind + "]"
    return json.dumps(v, separators=(", ", ": "))


def write_atomic(path, text):
    d = os.path.dirname(path) or "."
    tmp = os.path.join(d, f".{os.path.basename(path)}.tmp{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def fwd_im2col(x, k, d, pad):
    return im2col(x.astype(np.float64), k, d, pad)


def forward_network(net, images):
    """Class per image of a network file, in float64, with the hardware's
    arithmetic: binary dot products and pa piece counts are exact integers."""
    X = np.asarray(images, np.float64).reshape(-1, 8, 8, 1)
    maps = [X]  # the lanes' maps (one when shared)
    out = None
    for L in net["layers"]:
        if L["kind"] == "maxpool":
            maps = [pool_fwd(m)[0] for m in maps]
            continue
        m = L["model"]
        k = m["kernel"]
        if m["scheme"] == "groupnet_conv":
            K = len(m["weights"])
            dots = []
            for i in range(K):
                d = m["dilations"][i]
                src = maps[0] if m.get("shared_input", True) else maps[i]
                cols = fwd_im2col(src, k, d, d if m["padding"] == "same" else 0)
                b = np.where(np.asarray(m["weights"][i]) >= 0, 1.0, -1.0)
                dots.append(cols @ b.T)
            lam = m["lambdas"]
            if "fusion_thetas" in m:
                C = [1.0 / (1.0 + math.exp(-t)) for t in m["fusion_thetas"]]
                maps = []
                for i in range(K):
                    u = sum((C[i] * (i == j) + (1 - C[i]) * lam[j]) * dots[j] for j in range(K))
                    maps.append(np.where(u >= 0, 1.0, -1.0))
                continue
            y = sum(lam[i] * dots[i] for i in range(K))
        else:
            W = np.asarray(m["weights"], np.float64)
            idx, alphas = pa_pieces(W)
            ends = np.asarray(m["act_endpoints"], np.float64)
            pad = m["dilations"][0] if m["padding"] == "same" else 0
            src = maps[0]
            lev = (src[..., None] >= ends).sum(-1)
            cols_lev = fwd_im2col(lev, k, m["dilations"][0], pad)
            inside = fwd_im2col(np.ones_like(src), k, m["dilations"][0], pad) > 0
            betas = m["betas"]
            y = 0.0
            for j in range(1, 6):
                V = ((cols_lev == j) & inside).astype(np.float64)
                for i in range(4):
                    T = (idx == i).astype(np.float64)
                    y = y + (alphas[i] * betas[j - 1]) * (V @ T.T)
        if "batch_norm" in m:
            bn = m["batch_norm"]
            z = (np.asarray(bn["gamma"]) * (y - np.asarray(bn["mean"])) / np.sqrt(np.asarray(bn["var"]) + bn["eps"])
                 + np.asarray(bn["beta"]))
            if "next_endpoints" in m:
                maps = [(z[..., None] >= np.asarray(m["next_endpoints"])).sum(-1).astype(np.float64)]
            else:
                maps = [np.where(z >= 0, 1.0, -1.0)]
        else:
            out = y.reshape(len(X), -1)
    return out.argmax(1), out


def reference_class(net, image):
    """Independent slow reference: explicit loops over output pixel, channel,
    tap and lane, following the arithmetic of the network file literally."""
    H = W = 8
    # a map: maps[lane][y][x][c]; shared = one lane
    maps = [[[[float(image[r * 8 + cc])] for cc in range(8)] for r in range(8)]]
    sums = None
    for L in net["layers"]:
        if L["kind"] == "maxpool":
            s = L["size"]
            new = []
            for mp in maps:
                h, w, ch = len(mp), len(mp[0]), len(mp[0][0])
                new.append([[[max(mp[oy * s + a][ox * s + b][c] for a in range(s) for b in range(s))
                              for c in range(ch)] for ox in range(w // s)] for oy in range(h // s)])
            maps = new
            continue
        m = L["model"]
        H, W, cin, cout, k = m["height"], m["width"], m["cin"], m["cout"], m["kernel"]
        same = m["padding"] == "same"
        Ho, Wo = (H, W) if same else (H - k + 1, W - k + 1)

        def tap(src, oy, ox, ky, kx, d):
            if same:
                r, cc = oy + (ky - 1) * d, ox + (kx - 1) * d
            else:
                r, cc = oy + ky * d, ox + kx * d
            if 0 <= r < H and 0 <= cc < W:
                return src[r][cc]
            return None

        if m["scheme"] == "groupnet_conv":
            K = len(m["weights"])
            dot = [[[[0] * cout for _ in range(Wo)] for _ in range(Ho)] for _ in range(K)]
            for i in range(K):
                d = m["dilations"][i]
                src = maps[0] if m.get("shared_input", True) else maps[i]
                wts = m["weights"][i]
                for oy in range(Ho):
                    for ox in range(Wo):
                        for o in range(cout):
                            acc = 0
                            for ky in range(k):
                                for kx in range(k):
                                    px = tap(src, oy, ox, ky, kx, d)
                                    if px is None:
                                        continue
                                    for c in range(cin):
                                        b = 1 if wts[o][(ky * k + kx) * cin + c] >= 0 else -1
                                        acc += b * int(px[c])
                            dot[i][oy][ox][o] = acc
            lam = m["lambdas"]
            if "fusion_thetas" in m:
                C = [1.0 / (1.0 + math.exp(-t)) for t in m["fusion_thetas"]]
                maps = []
                for i in range(K):
                    F = [C[i] * (1 if i == j else 0) + (1 - C[i]) * lam[j] for j in range(K)]
                    maps.append([[[1.0 if sum(F[j] * dot[j][oy][ox][o] for j in range(K)) >= 0 else -1.0
                                   for o in range(cout)] for ox in range(Wo)] for oy in range(Ho)])
                continue
            y = [[[sum(lam[i] * dot[i][oy][ox][o] for i in range(K)) for o in range(cout)]
                  for ox in range(Wo)] for oy in range(Ho)]
        else:
            wts = m["weights"]
            flat = [w for row in wts for w in row]
            n = len(flat)
            mu = math.fsum(flat) / n
            s = math.sqrt(math.fsum((w - mu) ** 2 for w in flat) / n)

            def piece(w):
                if w == 0:
                    return None
                if w <= -s:
                    return 0
                if w <= -0.5 * s:
                    return 1
                if w >= s:
                    return 3
                if w >= 0.5 * s:
                    return 2
                return None

            members = [[w for w in flat if piece(w) == i] for i in range(m["m"])]
            alphas = [math.fsum(ws) / len(ws) if ws else 0.0 for ws in members]
            ends, betas = m["act_endpoints"], m["betas"]

            def qact(a):
                j = sum(1 for v in ends if a >= v)
                return 0.0 if j == 0 else betas[j - 1]

            d = m["dilations"][0]
            src = maps[0]
            y = [[[0.0] * cout for _ in range(Wo)] for _ in range(Ho)]
            for oy in range(Ho):
                for ox in range(Wo):
                    for o in range(cout):
                        acc = 0.0
                        for ky in range(k):
                            for kx in range(k):
                                px = tap(src, oy, ox, ky, kx, d)
                                if px is None:
                                    continue
                                for c in range(cin):
                                    pc = piece(wts[o][(ky * k + kx) * cin + c])
                                    if pc is not None:
                                        acc += alphas[pc] * qact(px[c])
                        y[oy][ox][o] = acc
        if "batch_norm" in m:
            bn = m["batch_norm"]
            new = [[[0.0] * cout for _ in range(Wo)] for _ in range(Ho)]
            for oy in range(Ho):
                for ox in range(Wo):
                    for o in range(cout):
                        z = (bn["gamma"][o] * (y[oy][ox][o] - bn["mean"][o]) / math.sqrt(bn["var"][o] + bn["eps"])
                             + bn["beta"][o])
                        if "next_endpoints" in m:
                            new[oy][ox][o] = float(sum(1 for v in m["next_endpoints"] if z >= v))
                        else:
                            new[oy][ox][o] = 1.0 if z >= 0 else -1.0
            maps = [new]
        else:
            sums = [y[oy][ox][o] for oy in range(Ho) for ox in range(Wo) for o in range(cout)]
    best = max(range(len(sums)), key=lambda o: (sums[o], -o))
    return best, sums


def check(out_dir, count):
    test = load_json(os.path.join(out_dir, "test_images.json"))
    summary_path = os.path.join(out_dir, "training.json")
    summary = load_json(summary_path) if os.path.exists(summary_path) else None
    images = test["images"][:count]
    for key, fname in FILES.items():
        net = load_json(os.path.join(out_dir, fname))
        fast_all, _ = forward_network(net, test["images"])
        if summary is not None:
            assert fast_all.tolist() == summary["networks"][key]["predictions"], f"{fname}: predictions differ from training.json"
        t0 = time.time()
        for n, img in enumerate(images):
            cls, sums = reference_class(net, img)
            _, fast_sums = forward_network(net, [img])
            assert cls == int(fast_all[n]), f"{fname}: image {n}: reference class {cls}, vectorised {fast_all[n]}"
            assert np.allclose(sums, fast_sums[0], rtol=1e-9, atol=1e-9), f"{fname}: image {n}: sums differ"
        against = f"; vectorised forward matches training.json on all {len(test['images'])}" if summary else ""
        log(f"check {fname}: {len(images)} images agree with the loop reference ({time.time() - t0:.1f} s){against}")
    log("check: ok")


def hardware_notes(net):
    """Largest |lambda|, |F|, |phi| and the pixel endpoints, for the report."""
    notes = {}
    for n, L in enumerate(net["layers"]):
        m = L.get("model")
        if not m:
            continue
        if m["scheme"] == "groupnet_conv":
            notes[f"layers[{n}]"] = {"max_abs_lambda": max(abs(v) for v in m["lambdas"])}
            if "fusion_thetas" in m:
                C = [1 / (1 + math.exp(-t)) for t in m["fusion_thetas"]]
                K = len(C)
                F = [[C[i] * (i == j) + (1 - C[i]) * m["lambdas"][j] for j in range(K)] for i in range(K)]
                notes[f"layers[{n}]"]["fusion_F"] = [[round(v, 4) for v in row] for row in F]
        else:
            idx, alphas = pa_pieces(m["weights"])
            phi = np.outer(alphas, m["betas"])
            s = np.std(np.asarray(m["weights"], np.float64))
            W = np.abs(np.asarray(m["weights"], np.float64))
            margin = np.min(np.minimum(np.abs(W - 0.5 * s), np.abs(W - s))) / s
            notes[f"layers[{n}]"] = {"max_abs_phi": round(float(np.abs(phi).max()), 4),
                                     "min_abs_phi": round(float(np.abs(phi).min()), 4),
                                     "zero_piece_fraction": round(float((idx < 0).mean()), 4),
                                     "min_relative_margin_to_a_cut": float(f"{margin:.3g}")}
    return notes


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=HERE, help="output folder (default: the script's own)")
    ap.add_argument("--epochs", type=int, help="epochs for every network (default: %s)" % EPOCHS)
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_EPOCHS} epochs each (smoke test)")
    ap.add_argument("--check", action="store_true",
                    help="only check the files in --out: loop reference vs vectorised forward")
    ap.add_argument("--check-images", type=int, default=20, help="images for --check (default 20)")
    ap.add_argument("--no-fusion", action="store_true", help="Group-Net: batch norm + sign after L2, no fusion gate")
    args = ap.parse_args()
    out_dir = os.path.abspath(args.out)
    if args.check:
        check(out_dir, args.check_images)
        return
    os.makedirs(out_dir, exist_ok=True)
    t_start = time.time()
    epochs = dict(EPOCHS)
    if args.quick:
        epochs = {k: QUICK_EPOCHS for k in epochs}
    if args.epochs is not None:
        epochs = {k: args.epochs for k in epochs}
    fusion = USE_FUSION and not args.no_fusion

    Xtr, Xte, ytr, yte = load_data()
    xtr = Xtr[..., None].astype(DT)
    xte = Xte[..., None].astype(DT)
    test_file = {"input": {"height": 8, "width": 8, "channels": 1, "bits": 4},
                 "images": [img.reshape(-1).tolist() for img in Xte], "labels": yte.tolist()}
    write_atomic(os.path.join(out_dir, "test_images.json"), dumps(test_file) + "\n")

    results = {}
    specs = [
        ("float", lambda r: FloatNet(r)),
        ("binary", lambda r: GroupNet(r, 1, [1], [1], False)),
        ("groupnet_k3", lambda r: GroupNet(r, 3, GN_DIL2, GN_DIL3, fusion)),
        ("panet_m4n5", lambda r: PANet(r)),
    ]
    for n, (name, make) in enumerate(specs):
        t0 = time.time()
        rng = np.random.default_rng(SEED + 1000 * n)
        log(f"{name}: training {epochs[name]} epochs")
        model = train(name, make(rng), xtr, ytr, xte, yte, epochs[name], rng)
        if name == "float":
            calibrate(model, xtr)
            tr = float((predict(model, xtr) == ytr).mean())
            te = float((predict(model, xte) == yte).mean())
            results[name] = {"train_accuracy": round(tr, 6), "test_accuracy": round(te, 6), "epochs": epochs[name]}
            log(f"{name}: train {tr:.4f} test {te:.4f} ({time.time() - t0:.1f} s)")
            continue
        if isinstance(model, GroupNet):
            model.rescale_lambdas()
            scheme = (f"Group-Net K={model.K}, dilations L2 {model.dil2} L3 {model.dil3}, "
                      + ("fusion gate after L2" if model.fusion else "batch norm + sign after every hidden layer"))
        else:
            model.rescale_weights()
            scheme = ("PA-Net M=4 N=5; first-layer pixel endpoints fixed at "
                      f"{PA_PIXEL_ENDPOINTS}, learned betas; inner quantisers learned (betas = cumsum softplus, "
                      "endpoints at level midpoints)")
        calibrate(model, xtr)
        comment = (f"{scheme}. Trained by examples/digits/train.py on sklearn load_digits (pixels clipped to 15), "
                   f"{epochs[name]} epochs, Adam + cosine decay, +-1 pixel shifts, seed {SEED}; batch norm "
                   "statistics over the whole training set.")
        net = round_tree(model.export("groupnet_k3" if name == "groupnet_k3" else name, comment))
        path = os.path.join(out_dir, FILES[name])
        write_atomic(path, dumps(net) + "\n")
        net = load_json(path)
        pred_tr, _ = forward_network(net, Xtr.reshape(len(Xtr), -1))
        pred_te, _ = forward_network(net, Xte.reshape(len(Xte), -1))
        tr = float((pred_tr == ytr).mean())
        te = float((pred_te == yte).mean())
        train_view = float((predict(model, xte) == yte).mean())
        results[name] = {"file": FILES[name], "train_accuracy": round(tr, 6), "test_accuracy": round(te, 6),
                         "epochs": epochs[name], "hardware_notes": hardware_notes(net),
                         "predictions": pred_te.tolist()}
        log(f"{name}: exported {FILES[name]}: train {tr:.4f} test {te:.4f} "
            f"(training model's test {train_view:.4f}) ({time.time() - t0:.1f} s)")

    wall = time.time() - t_start
    summary = {
        "dataset": {"source": "sklearn.datasets.load_digits()", "pixels": "min(v, 15): 4-bit unsigned 0..15",
                    "split": "train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)",
                    "train_images": int(len(Xtr)), "test_images": int(len(Xte)),
                    "test_file": "test_images.json"},
        "seed": SEED,
        "topology": "8x8x1 > conv3x3 16 > conv3x3 12 > maxpool 2 > conv3x3 16 > maxpool 2 > dense 2x2 10 > argmax",
        "accuracy_note": "exported networks: accuracies of the exported arithmetic (float64) on the files as written",
        "wall_seconds": round(wall, 1),
        "networks": results,
    }
    write_atomic(os.path.join(out_dir, "training.json"), dumps(summary) + "\n")
    log("")
    log(f"{'network':14s} {'epochs':>6s} {'train':>8s} {'test':>8s}")
    for name, r in results.items():
        log(f"{name:14s} {r['epochs']:6d} {r['train_accuracy']:8.4f} {r['test_accuracy']:8.4f}")
    log(f"wall time {wall:.1f} s; files in {out_dir}")


if __name__ == "__main__":
    main()
