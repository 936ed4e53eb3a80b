#!/usr/bin/env python3
"""NumPy references for the trainer's tests (tools/, independent of the Swift code).

  train_reference.py bitlinear DIR N IN OUT NORM
      Reads DIR/{x,w,g,dout}.f32 (float32, row-major: x (N,IN), w (OUT,IN), g (IN), dout (N,OUT)).
      BitLinear forward of BitGPT (bananya-ml/BitGPT bitgpt/bitgpt.py): optional RMSNorm (eps 1e-6, gain g), per-token
      int8 absmax fake-quant, per-matrix absmean ternary fake-quant, y = xq @ wq.T; backward with the
      straight-through estimator. Writes DIR/{y,dx,dw,dg}.f32.

  train_reference.py adamw DIR N T LR B1 B2 EPS WD CLIP
      Reads DIR/{p,g,m,v,mask}.f32 (mask 1 where weight decay applies). Clips the global gradient norm
      to CLIP (if > 0) like torch clip_grad_norm_, then one torch.optim.AdamW step number T.
      Writes DIR/{p2,m2,v2}.f32.
"""
import sys
import numpy as np

f32 = np.float32


def load(d, name, shape):
    return np.fromfile(f"{d}/{name}.f32", dtype="<f4").reshape(shape)


def save(d, name, a):
    np.asarray(a, dtype="<f4").tofile(f"{d}/{name}.f32")


def bitlinear(d, n, i, o, norm):
    x, w, g, dout = load(d, "x", (n, i)), load(d, "w", (o, i)), load(d, "g", (i,)), load(d, "dout", (n, o))
    if norm:
        ms = (x.astype(np.float64) ** 2).mean(axis=1, keepdims=True)
        r = (1.0 / np.sqrt(ms + 1e-6)).astype(f32)
        xn = (x * r * g).astype(f32)
    else:
        xn = x
    a = (f32(127) / np.maximum(np.abs(xn).max(axis=1, keepdims=True), f32(1e-5))).astype(f32)
    xq = (np.clip(np.round(xn * a), -128, 127) / a).astype(f32)
    mean = f32(np.abs(w.astype(np.float64)).sum() / w.size)
    s = f32(1) / max(mean, f32(1e-5))
    gamma = f32(1) / s
    wq = (np.clip(np.round(w * s), -1, 1) * gamma).astype(f32)
    y = xq.astype(np.float64) @ wq.T.astype(np.float64)
    dw = dout.T.astype(np.float64) @ xq.astype(np.float64)
    dxq = dout.astype(np.float64) @ wq.astype(np.float64)  # STE: dxn = dxq
    if norm:
        r64 = r.astype(np.float64)
        nrm = x.astype(np.float64) * r64
        dn = dxq * g
        dg = (dxq * nrm).sum(axis=0)
        dx = r64 * (dn - nrm * (dn * nrm).mean(axis=1, keepdims=True))
    else:
        dg = np.zeros(i)
        dx = dxq
    for name, v in (("y", y), ("dx", dx), ("dw", dw), ("dg", dg)):
        save(d, name, v)


def adamw(d, n, t, lr, b1, b2, eps, wd, clip):
    p, g, m, v, mask = (load(d, k, (n,)) for k in ("p", "g", "m", "v", "mask"))
    if clip > 0:
        norm = np.sqrt((g.astype(np.float64) ** 2).sum())
        coef = clip / (norm + 1e-6)
        if coef < 1:
            g = (g * f32(coef)).astype(f32)
    lr, b1, b2, eps, wd = f32(lr), f32(b1), f32(b2), f32(eps), f32(wd)
    p = np.where(mask > 0, p * (f32(1) - lr * wd), p).astype(f32)
    m = (b1 * m + (f32(1) - b1) * g).astype(f32)
    v = (b2 * v + (f32(1) - b2) * g * g).astype(f32)
    bc1 = f32(1 - float(b1) ** t)
    bc2 = f32(np.sqrt(1 - float(b2) ** t))
    p = (p - (lr / bc1) * (m / (np.sqrt(v) / bc2 + eps))).astype(f32)
    save(d, "p2", p)
    save(d, "m2", m)
    save(d, "v2", v)


if __name__ == "__main__":
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "bitlinear":
        bitlinear(d, *(int(a) for a in sys.argv[3:6]), sys.argv[6] == "1")
    elif cmd == "adamw":
        n, t = int(sys.argv[3]), int(sys.argv[4])
        adamw(d, n, t, *(float(a) for a in sys.argv[5:11]))
    else:
        sys.exit(f"unknown command {cmd}")
