"""What every fixture script shares: the pinned library versions (asserted, not only printed), the default
location of the real all-MiniLM-L6-v2 (the Hugging Face cache scripts/setup.sh fills), and the weight
re-draw that makes tiny random models' outputs and gradients large next to float noise.

The pins live in tools/requirements.txt; `require(...)` fails loudly when the venv has other versions.
"""
import importlib
import math
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")


def pins():
    """name → version from tools/requirements.txt (`name==version` lines; torch's local tag dropped)."""
    out = {}
    with open(os.path.join(HERE, "requirements.txt"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", line.strip())
            if m:
                out[m.group(1).lower().replace("-", "_")] = m.group(2).split("+")[0]
    return out


def require(*modules):
    """Imports each module and asserts its version is the pinned one."""
    pinned = pins()
    for name in modules:
        module = importlib.import_module(name)
        want = pinned[name.lower()]
        have = module.__version__.split("+")[0]
        assert have == want, f"{name} {module.__version__} installed, fixtures are pinned to {want} (tools/requirements.txt)"


def default_minilm():
    """The snapshot folder of sentence-transformers/all-MiniLM-L6-v2 in the HF cache (scripts/setup.sh)."""
    env = os.environ
    hub = env.get("HF_HUB_CACHE") or os.path.join(
        env.get("HF_HOME") or os.path.join(env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface"),
        "hub")
    repo = os.path.join(hub, "models--sentence-transformers--all-MiniLM-L6-v2")
    with open(os.path.join(repo, "refs", "main"), encoding="utf-8") as f:
        return os.path.join(repo, "snapshots", f.read().strip())


def redraw(model, generator, only=None):
    """Re-draws parameters at unit scale, where HF's N(0, 0.02) init leaves tiny activations, logits that
    hardly depend on the input and gradients at float-noise level:
      Linear weights N(0, 1/fan_in), biases N(0, 0.1²),
      embeddings N(0, 1), LayerNorm gamma 1 + N(0, 0.2²) and beta N(0, 0.1²).
    `only(name)` limits it to some parameters. Returns the names re-drawn."""
    import torch

    done = []
    with torch.no_grad():
        modules = dict(model.named_modules())
        for name, p in model.named_parameters():
            if only is not None and not only(name):
                continue
            owner = modules[name.rsplit(".", 1)[0]]
            leaf = name.rsplit(".", 1)[1]
            if isinstance(owner, torch.nn.LayerNorm):
                base = 1.0 if leaf == "weight" else 0.0
                p.copy_(base + torch.randn(p.shape, generator=generator) * (0.2 if leaf == "weight" else 0.1))
            elif isinstance(owner, torch.nn.Embedding):
                p.copy_(torch.randn(p.shape, generator=generator))
            elif p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=generator) / math.sqrt(p.shape[1]))
            else:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
            done.append(name)
    return done
