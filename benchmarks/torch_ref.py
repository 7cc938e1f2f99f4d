"""The PyTorch side of every measurement: the same layer cases and models, on the same data.

PyTorch is an optional, benchmark-only dependency (the ``bench`` extra); this
module is imported only when ``--torch`` is asked for, never by minicnn/.
Each callable zeroes its gradients by dropping them (``.grad = None``), so
no accumulation pass is timed, just as minicnn returns fresh gradients.
"""
import torch
import torch.nn.functional as F

from .cases import layer_inputs, step_batch


def configure(threads, device, tf32):
    """Match minicnn's setting: ``threads`` CPU threads, TF32 only when asked (off by default)."""
    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = bool(tf32)
    torch.backends.cudnn.allow_tf32 = bool(tf32)
    if device == "cuda":
        torch.backends.cudnn.benchmark = True


def sync_for(device):
    return torch.cuda.synchronize if device == "cuda" else None


def _tensors(case, device):
    d = layer_inputs(case)
    return {k: torch.from_numpy(v).to(device) for k, v in d.items()}


def torch_layer(case, device):
    """A callable running PyTorch's forward + backward of ``case`` once (input gradient included)."""
    d = _tensors(case, device)
    x, dout = d["x"].requires_grad_(), d.get("dout")
    params = []
    if case.kind == "conv":
        w, b = d["w"].requires_grad_(), d["b"].requires_grad_()
        params, pad = [w, b], case.args["k"] // 2
        forward = lambda: F.conv2d(x, w, b, padding=pad)  # noqa: E731
    elif case.kind == "maxpool":
        forward = lambda: F.max_pool2d(x, 2)  # noqa: E731
    elif case.kind == "sbn":
        c = case.args["c"]
        gamma, beta = d["gamma"].requires_grad_(), d["beta"].requires_grad_()
        rm, rv = torch.zeros(c, device=device), torch.ones(c, device=device)
        params = [gamma, beta]
        forward = lambda: F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=0.1)  # noqa: E731
    elif case.kind == "relu":
        forward = lambda: F.relu(x)  # noqa: E731
    elif case.kind == "dropout":
        forward = lambda: F.dropout(x, case.args["p"], training=True)  # noqa: E731
    elif case.kind == "affine":
        w = d["w"].t().contiguous().requires_grad_()       # torch keeps (M, D)
        b = d["b"].requires_grad_()
        params = [w, b]
        forward = lambda: F.linear(x, w, b)  # noqa: E731
    elif case.kind == "softmax":
        y = d["y"]
        forward = lambda: F.cross_entropy(x, y)  # noqa: E731
    else:
        raise ValueError(f"unknown layer case kind {case.kind!r}")

    def run():
        for t in [x, *params]:
            t.grad = None
        out = forward()
        out.backward(dout if out.dim() else None)
    return run


def torch_model(config):
    """An nn.Sequential with the layers of a minicnn config (conv-SBN-ReLU-dropout-pool ... affine).

    A block lists only the options it uses (``normalize_config`` drops absent ones).
    """
    layers, (c, h, w) = [], config["input_shape"]
    for b in config["conv"]:
        k, s = b["kernel"], b["stride"]
        pad = (k - 1) // 2 if b["pad"] == "same" else b["pad"]
        layers.append(torch.nn.Conv2d(c, b["filters"], k, stride=s, padding=pad))
        c, h, w = b["filters"], (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
        layers += [torch.nn.BatchNorm2d(c)] if b.get("bn") else []
        layers.append(torch.nn.ReLU())
        layers += [torch.nn.Dropout(b["dropout"])] if b.get("dropout") else []
        if b.get("pool"):
            layers.append(torch.nn.MaxPool2d(b["pool"]))
            h, w = h // b["pool"], w // b["pool"]
    layers.append(torch.nn.Flatten())
    d = c * h * w
    for b in config["fc"]:
        layers.append(torch.nn.Linear(d, b["units"]))
        d = b["units"]
        layers += [torch.nn.BatchNorm1d(d)] if b.get("bn") else []
        layers.append(torch.nn.ReLU())
        layers += [torch.nn.Dropout(b["dropout"])] if b.get("dropout") else []
    layers.append(torch.nn.Linear(d, config["n_classes"]))
    return torch.nn.Sequential(*layers)


def torch_step(config, device, n, lr=1e-3):
    """``step()``: one forward + backward + Adam update of the PyTorch twin of ``config``.

    L2 regularization enters as Adam's weight_decay (the same reg * W gradient term).
    """
    torch.manual_seed(config["seed"])
    model = torch_model(config).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=config["reg"])
    x, y = (torch.from_numpy(a).to(device) for a in step_batch(config, n))

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def peak_cuda_bytes(fn):
    """Peak bytes PyTorch's CUDA allocator held during ``fn()``."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    fn()
    torch.cuda.synchronize()
    return int(torch.cuda.max_memory_allocated())
