"""PyTorch side of `sag bench pytorch`: the embedded digit UNet and classifier, rebuilt in PyTorch from the
shipped tfjs weights, answering timing requests from sag over stdin/stdout (one JSON object per line).

Requests: {"cmd": "setup", "unet": dir, "classifier": dir}
          {"cmd": "check", "x": file, "shape": [...], "t": int, "eps": file, "image": file, "logits": file}
          {"cmd": "time" | "peak", "op": "forward" | "vjp" | "sag", "batch": B, "method": "symplectic" | "direct",
           "grid": [{"timestep", "abar", "sigbar"}...], "target": k, "x": file, "shape": [...]}
Tensors travel as raw little-endian float32 files, NHWC as sag writes them."""
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_graph_weights(model_dir):
    """name -> numpy array from a tfjs graph model (model.json + shards); scope prefixes ('a/b') dropped."""
    with open(os.path.join(model_dir, "model.json")) as f:
        model = json.load(f)
    out = {}
    for group in model["weightsManifest"]:
        blob = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            dtype = {"float32": np.float32, "int32": np.int32}[w["dtype"]]
            out[w["name"].split("/")[-1]] = np.frombuffer(blob, dtype, count, offset).reshape(w["shape"])
            offset += count * 4
    return out


class Weights:
    def __init__(self, arrays):
        self.a = arrays

    def has(self, name):
        return name in self.a

    def conv(self, name):  # HWIO -> OIHW
        return torch.from_numpy(np.ascontiguousarray(self.a[name + ".weight"].transpose(3, 2, 0, 1))), \
            torch.from_numpy(self.a[name + ".bias"].copy())

    def linear(self, name):  # [out, in] as PyTorch keeps it
        return torch.from_numpy(self.a[name + ".weight"].copy()), torch.from_numpy(self.a[name + ".bias"].copy())

    def norm(self, name):
        return torch.from_numpy(self.a[name + ".weight"].copy()), torch.from_numpy(self.a[name + ".bias"].copy())


class DigitUnet(torch.nn.Module):
    """The embedded pixel UNet (weights/train/pixelUnetModel.ts), NCHW."""

    def __init__(self, w, spec):
        super().__init__()
        self.w, self.spec = w, spec
        self.freqs = torch.from_numpy(w.a["time_proj.freqs"].reshape(-1).copy())
        self.p = {}
        for key in w.a:
            if key.endswith(".weight"):
                name = key[: -len(".weight")]
                arr = w.a[key]
                if arr.ndim == 4:
                    self.p[name] = w.conv(name)
                elif arr.ndim == 2:
                    self.p[name] = w.linear(name)
                else:
                    self.p[name] = w.norm(name)

    def conv(self, x, name, stride=1):
        weight, bias = self.p[name]
        k = weight.shape[-1]
        return F.conv2d(x, weight, bias, stride=stride, padding=(k - 1) // 2)

    def linear(self, x, name):
        weight, bias = self.p[name]
        return F.linear(x, weight, bias)

    def norm(self, x, name):
        weight, bias = self.p[name]
        return F.group_norm(x, self.spec["groups"], weight, bias, 1e-5)

    def resnet(self, x, name, temb):
        h = self.conv(F.silu(self.norm(x, name + ".norm1")), name + ".conv1")
        h = h + self.linear(F.silu(temb), name + ".time_emb_proj")[:, :, None, None]
        h = self.conv(F.silu(self.norm(h, name + ".norm2")), name + ".conv2")
        shortcut = self.conv(x, name + ".conv_shortcut") if (name + ".conv_shortcut") in self.p else x
        return shortcut + h

    def attention(self, x, name):
        n, c, hh, ww = x.shape
        tokens = self.norm(x, name + ".group_norm").reshape(n, c, hh * ww).transpose(1, 2)
        q, k, v = (self.linear(tokens, name + s) for s in (".to_q", ".to_k", ".to_v"))
        weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1)
        out = self.linear(weights @ v, name + ".to_out.0")
        return x + out.transpose(1, 2).reshape(n, c, hh, ww)

    def forward(self, x, t):
        c, att = self.spec["channels"], self.spec["attentionLevels"]
        arg = float(t) * self.freqs
        emb = torch.cat([torch.cos(arg), torch.sin(arg)])[None, :].expand(x.shape[0], -1)
        temb = self.linear(F.silu(self.linear(emb, "time_embedding.linear_1")), "time_embedding.linear_2")
        h = self.conv(x, "conv_in")
        skips = []
        for level in range(len(c)):
            h = self.resnet(h, f"down.{level}.resnet", temb)
            if level in att:
                h = self.attention(h, f"down.{level}.attention")
            skips.append(h)
            if level < len(c) - 1:
                h = self.conv(h, f"down.{level}.downsample", stride=2)
        h = self.resnet(h, "mid.resnet_0", temb)
        h = self.attention(h, "mid.attention")
        h = self.resnet(h, "mid.resnet_1", temb)
        for level in reversed(range(len(c))):
            h = self.resnet(torch.cat([h, skips[level]], 1), f"up.{level}.resnet", temb)
            if level in att:
                h = self.attention(h, f"up.{level}.attention")
            if level > 0:
                h = self.conv(F.interpolate(h, scale_factor=2, mode="nearest"), f"up.{level}.upsample")
        return self.conv(F.silu(self.norm(h, "conv_norm_out")), "conv_out")


class DigitClassifier(torch.nn.Module):
    """weights/train/classifierModel.ts: convs with ReLU/Tanh, spatial mean, hidden ReLU layers, head."""

    def __init__(self, w, spec):
        super().__init__()
        self.w, self.spec = w, spec

    def forward(self, image):
        h = image
        for c in self.spec["convs"]:
            weight, bias = self.w.conv(c["name"])
            h = F.conv2d(h, weight, bias, stride=c["stride"], padding=c["padding"])
            h = torch.relu(h) if c["activation"] == "relu" else torch.tanh(h)
        v = h.mean(dim=(2, 3))
        for k in range(len(self.spec["hidden"])):
            v = torch.relu(F.linear(v, *self.w.linear(f"fc{k + 1}")))
        return F.linear(v, *self.w.linear("head"))


def read_nhwc(path, shape):
    arr = np.fromfile(path, dtype="<f4").reshape(shape)
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2)))


class Bench:
    def setup(self, req):
        torch.set_num_threads(int(req.get("threads", 1)))
        torch.set_grad_enabled(False)
        unet_dir, cls_dir = req["unet"], req["classifier"]
        spec = json.load(open(os.path.join(unet_dir, "..", "sag.json")))["spec"]
        cls_spec = json.load(open(os.path.join(cls_dir, "..", "sag.json")))["spec"]
        self.unet = DigitUnet(Weights(read_graph_weights(unet_dir)), spec)
        self.classifier = DigitClassifier(Weights(read_graph_weights(cls_dir)), cls_spec)
        for tensor_pair in self.unet.p.values():
            for t in tensor_pair:
                t.requires_grad_(False)
        return {"torch": torch.__version__, "threads": torch.get_num_threads(),
                "blas": "openblas" if "openblas" in torch.__config__.show().lower() + os.environ.get("LD_PRELOAD", "") else "reference"}

    def check(self, req):
        x = read_nhwc(req["x"], req["shape"])
        eps = self.unet(x, req["t"])
        ref = read_nhwc(req["eps"], req["shape"])
        image = read_nhwc(req["image"], req["image_shape"])
        logits = self.classifier(image)
        ref_logits = torch.from_numpy(np.fromfile(req["logits"], dtype="<f4").reshape(logits.shape))
        rel = lambda a, b: float((a - b).norm() / b.norm())
        return {"eps_rel": rel(eps, ref), "logits_rel": rel(logits, ref_logits)}

    def loss(self, x0, target):
        image = torch.clamp((x0 + 1) / 2, 0, 1)
        return -torch.log_softmax(self.classifier(image), dim=-1)[:, target].sum()

    def sag(self, x, grid, target, method):
        n = len(grid) - 1
        s = [math.sqrt(p["abar"]) for p in grid]
        h = [grid[i + 1]["sigbar"] - grid[i]["sigbar"] for i in range(n)]
        if method == "direct":
            with torch.enable_grad():
                xt = x.clone().requires_grad_(True)
                xb = xt / s[0]
                for i in range(n):
                    xb = xb + h[i] * self.unet(xb * s[i], grid[i]["timestep"])
                (g,) = torch.autograd.grad(self.loss(xb * s[n], target), xt)
            return g
        states, xb = [], x / s[0]
        for i in range(n):
            states.append(xb)
            xb = xb + h[i] * self.unet(xb * s[i], grid[i]["timestep"])
        with torch.enable_grad():
            end = xb.requires_grad_(True)
            (lam,) = torch.autograd.grad(self.loss(end * s[n], target), end)
            for i in reversed(range(n)):
                y = states[i].requires_grad_(True)
                eps = self.unet(y * s[i], grid[i]["timestep"])
                (vj,) = torch.autograd.grad(eps, y, grad_outputs=lam)
                lam = lam + h[i] * vj
        return lam / s[0]

    def run(self, req):
        x = read_nhwc(req["x"], req["shape"])
        op = req["op"]
        if op == "forward":
            return lambda: self.unet(x, 500)
        if op == "vjp":
            def vjp():
                with torch.enable_grad():
                    xx = x.clone().requires_grad_(True)
                    out = self.unet(xx, 500)
                    return torch.autograd.grad(out, xx, grad_outputs=torch.ones_like(out))[0]
            return vjp
        return lambda: self.sag(x, req["grid"], req["target"], req["method"])

    def time(self, req):
        fn = self.run(req)
        start = time.perf_counter()
        fn()
        return {"ms": (time.perf_counter() - start) * 1e3}

    def peak(self, req):
        """Peak resident memory above the starting point of one run, in a forked child (fresh high-water mark)."""
        fn = self.run(req)
        fn()  # warm the allocator's caches the way a timed run sees them
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            # OpenMP's thread pool does not survive fork(): a parallel region in the child would wait forever.
            torch.set_num_threads(1)
            with open("/proc/self/statm") as f:
                base = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            fn()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            os.write(write_fd, json.dumps({"peak_bytes": max(0, peak - base)}).encode())
            os._exit(0)
        os.close(write_fd)
        data = os.read(read_fd, 4096)
        os.waitpid(pid, 0)
        return json.loads(data)


def main():
    bench = Bench()
    for line in sys.stdin:
        req = json.loads(line)
        try:
            reply = getattr(bench, req["cmd"])(req)
        except Exception as error:  # reported to sag, which stops with this message
            reply = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
