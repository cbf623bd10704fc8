#!/usr/bin/env python3
"""PyTorch pickle (`.bin`) checkpoints for the safe reader `PyTorchCheckpoint` (Sources/ModelIO/Pickle).

    .venv-bench/bin/python tools/make_pickle_fixtures.py

Pinned: torch 2.13.0+cpu, adapters 1.3.0 (transformers 4.57.6), safetensors as installed with them.

Writes Tests/Fixtures/pickle/:
- seq_bn_bin/, lora_bin/: what AdapterHub's `save_adapter(dir, "rt")` writes with the default pickle
  format (pytorch_adapter.bin, pytorch_model_head.bin, adapter_config.json, head_config.json) on the
  tiny RoBERTa of the training fixtures, every adapter/head parameter drawn from N(0, 0.2) after
  torch.manual_seed(7); plus reference.safetensors with the same tensors (adapter and head together).
- dtypes.bin + dtypes.json: `torch.save` of a dict with f32/f16/bf16/f64/i64/i32 tensors, a
  transposed (non-contiguous) tensor, a view with a storage offset, two tensors sharing one storage,
  a 0-d and an empty tensor, and a tensor with a Python attribute (saved through
  torch._tensor._rebuild_from_type_v2); dtypes.json holds each tensor's dtype, shape and values (row-major).
- state_dict.bin + state_dict.safetensors: `torch.save(module.state_dict())` of a small Sequential, an
  OrderedDict carrying `_metadata` (pickled with BUILD), and the same tensors as safetensors.
- evil_*.bin + evil.json: zips laid out like torch's, whose data.pkl, written by hand (not by torch),
  would run code under `pickle.load`: GLOBAL os.system + REDUCE, GLOBAL builtins.eval + REDUCE,
  STACK_GLOBAL subprocess.Popen + REDUCE, INST os.system, and a valid state dict with os.system hidden
  after its first tensor. Each command would create a marker file /tmp/pwned_<random>; evil.json maps
  file -> {module, name, marker}. This script never unpickles them: it checks with a restricted
  Unpickler that `find_class` is asked for exactly that module and name.
- truncated.bin (first half of seq_bn_bin/pytorch_adapter.bin), compressed.bin (dtypes.bin re-zipped
  with deflate; torch itself always stores), missing_pkl.bin (no data.pkl), missing_storage.bin (a
  storage record dropped), bad_extent.bin (a tensor reaching past its storage), legacy.bin (torch's
  pre-1.6 non-zip format), big_endian.bin (byteorder "big"), not_a_tensor_call.bin (REDUCE on a
  storage class).
"""
import io
import json
import os
import pickle
import secrets
import shutil
import struct
import tempfile
import zipfile

import torch
from adapters import AutoAdapterModel
from safetensors.torch import save_file

from fixture_env import require

require("torch", "adapters", "safetensors")

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "Tests", "Fixtures")
BASE = os.path.join(FIX, "training", "base-roberta")
OUT = os.path.join(FIX, "pickle")


def adapter_fixture(method, config):
    torch.manual_seed(7)
    model = AutoAdapterModel.from_pretrained(BASE)
    model.add_adapter("rt", config=config)
    model.add_classification_head("rt", num_labels=2, id2label={0: "negative", 1: "positive"})
    with torch.no_grad():
        for n, p in model.named_parameters():
            if ".rt." in n or n.startswith("heads.rt"):
                p.normal_(0, 0.2)
    model.config.name_or_path = "tiny-roberta"
    out = os.path.join(OUT, f"{method}_bin")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    model.save_adapter(out, "rt")  # default: pickle via torch.save
    names = sorted(os.listdir(out))
    assert names == ["adapter_config.json", "head_config.json", "pytorch_adapter.bin", "pytorch_model_head.bin"], names
    ref = {}
    for f in ["pytorch_adapter.bin", "pytorch_model_head.bin"]:
        sd = torch.load(os.path.join(out, f), weights_only=True)
        for k, v in sd.items():
            assert k not in ref, k
            ref[k] = v.contiguous().clone()
    save_file(ref, os.path.join(out, "reference.safetensors"))
    os.chmod(os.path.join(out, "reference.safetensors"), 0o644)
    print(method, names, len(ref), "tensors")


def dtypes_fixture():
    torch.manual_seed(3)
    shared = torch.randn(12)
    base = torch.randn(3, 4)
    f16 = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, 3e-5, float("inf"), float("-inf"), 0.333],
                       dtype=torch.float16)
    tensors = {
        "f32": torch.randn(2, 3),
        "f16": f16,
        "bf16": (torch.randn(4, 2) * 100).to(torch.bfloat16),
        "f64": torch.tensor([[1.0 / 3.0, -1e-300, 1e30], [2.0 ** -20, 0.1, -7.0]], dtype=torch.float64),
        "i64": torch.tensor([0, -5, 2 ** 62, -(2 ** 62), 123456789012], dtype=torch.int64),
        "i32": torch.tensor([[1, -2], [2 ** 31 - 1, -(2 ** 31)]], dtype=torch.int32),
        "transposed": torch.randn(3, 5).t(),          # shape (5, 3), stride (1, 5)
        "row_view": base[1],                           # storage offset 4
        "col_slice": base[:, 1:3],                     # offset 1, stride (4, 1): non-contiguous
        "shared_a": shared[:6].view(2, 3),             # two tensors over one storage
        "shared_b": shared[6:],
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 4),
    }
    tensors["with_attr"] = torch.tensor([1.0, -1.0, 0.5])
    tensors["with_attr"].note = "pickled via torch._tensor._rebuild_from_type_v2"
    assert not tensors["transposed"].is_contiguous() and not tensors["col_slice"].is_contiguous()
    torch.save(tensors, os.path.join(OUT, "dtypes.bin"))
    expected = {}
    for k, v in tensors.items():
        vals = v.contiguous().reshape(-1)
        if v.dtype in (torch.int64, torch.int32):
            values = [int(x) for x in vals.tolist()]
        else:
            values = [repr(float(x)) for x in vals.to(torch.float64).tolist()]  # strings: inf stays exact
        expected[k] = {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "values": values}
    with open(os.path.join(OUT, "dtypes.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    print("dtypes.bin", sorted(tensors))

    # A module's own state_dict(): an OrderedDict with a `_metadata` attribute (set by BUILD).
    torch.manual_seed(5)
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2))
    torch.save(module.state_dict(), os.path.join(OUT, "state_dict.bin"))
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, os.path.join(OUT, "state_dict.safetensors"))
    os.chmod(os.path.join(OUT, "state_dict.safetensors"), 0o644)


# ---- hand-written pickles -------------------------------------------------------------------------

def uni(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def short_uni(s):
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def torch_like_zip(path, pkl, records=(), byteorder=b"little", compression=zipfile.ZIP_STORED, archive="archive"):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        z.writestr(f"{archive}/data.pkl", pkl)
        if byteorder is not None:
            z.writestr(f"{archive}/byteorder", byteorder)
        for key, data in records:
            z.writestr(f"{archive}/data/{key}", data)
        z.writestr(f"{archive}/version", b"3\n")


def tensor_ops(key, storage, numel, offset, size, stride):
    """Opcodes pushing torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())."""
    def tup(xs):
        return b"(" + b"".join(b"J" + struct.pack("<i", x) for x in xs) + b"t"
    pid = b"(" + uni("storage") + b"ctorch\n" + storage.encode() + b"\n" + uni(key) + uni("cpu") \
        + b"J" + struct.pack("<i", numel) + b"t" + b"Q"
    return (b"ctorch._utils\n_rebuild_tensor_v2\n(" + pid + b"J" + struct.pack("<i", offset) + tup(size)
            + tup(stride) + b"\x89ccollections\nOrderedDict\n)Rt" + b"R")


SAFE = {("torch._utils", "_rebuild_tensor_v2"), ("collections", "OrderedDict"), ("torch", "FloatStorage")}


class Recorder(pickle.Unpickler):
    """Runs nothing: torch's own globals become inert stubs, any other one stops the load."""
    def find_class(self, module, name):
        if (module, name) in SAFE:
            return lambda *args: None
        raise LookupError((module, name))

    def persistent_load(self, pid):
        return None


def first_global(pkl):
    """The first global outside torch's that a plain pickle.load of `pkl` would import."""
    try:
        Recorder(io.BytesIO(pkl)).load()
    except LookupError as e:
        return e.args[0]
    return None


def evil_fixtures():
    token = secrets.token_hex(6)
    manifest = {}

    def marker_of(stem):
        return f"/tmp/pwned_{token}_{stem}"

    def evil(name, module, func, pkl, records=()):
        # Each one must really reach find_class, i.e. be an attack on a plain pickle.load.
        got = first_global(pkl)
        assert got == (module, func), (name, got)
        torch_like_zip(os.path.join(OUT, name), pkl, records=records)
        manifest[name] = {"module": module, "name": func, "marker": marker_of(name.removesuffix(".bin"))}

    def cmd_ops(cmd):
        return uni(cmd)

    evil("evil_os_system.bin", "os", "system",
         b"\x80\x02cos\nsystem\n" + cmd_ops(f"touch {marker_of('evil_os_system')}") + b"\x85R.")
    evil("evil_eval.bin", "builtins", "eval",
         b"\x80\x02cbuiltins\neval\n" + cmd_ops(f"open('{marker_of('evil_eval')}', 'w').close()") + b"\x85R.")
    evil("evil_stack_global.bin", "subprocess", "Popen",
         b"\x80\x04" + short_uni("subprocess") + short_uni("Popen") + b"\x93]("
         + uni("touch") + uni(marker_of("evil_stack_global")) + b"e\x85R.")
    evil("evil_inst.bin", "os", "system",
         b"\x80\x02(" + uni(f"touch {marker_of('evil_inst')}") + b"ios\nsystem\n.")
    # A plausible state dict: one valid tensor, then a value built by os.system.
    pkl = (b"\x80\x02}(" + uni("w") + tensor_ops("0", "FloatStorage", 2, 0, [2], [1])
           + uni("x") + b"cos\nsystem\n" + uni(f"touch {marker_of('evil_after_tensor')}") + b"\x85Ru.")
    evil("evil_after_tensor.bin", "os", "system", pkl, records=[("0", struct.pack("<2f", 1, 2))])
    with open(os.path.join(OUT, "evil.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    print("evil", sorted(manifest))


def broken_fixtures():
    adapter = os.path.join(OUT, "seq_bn_bin", "pytorch_adapter.bin")
    data = open(adapter, "rb").read()
    open(os.path.join(OUT, "truncated.bin"), "wb").write(data[: len(data) // 2])

    # compressed.bin: dtypes.bin's entries re-zipped with deflate.
    with zipfile.ZipFile(os.path.join(OUT, "dtypes.bin")) as src, \
            zipfile.ZipFile(os.path.join(OUT, "compressed.bin"), "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))

    two = struct.pack("<2f", 1.5, -2.5)
    ok = b"\x80\x02}(" + uni("w") + tensor_ops("0", "FloatStorage", 2, 0, [2], [1]) + b"u."
    with zipfile.ZipFile(os.path.join(OUT, "missing_pkl.bin"), "w") as z:
        z.writestr("archive/data/0", two)
        z.writestr("archive/version", b"3\n")
    torch_like_zip(os.path.join(OUT, "missing_storage.bin"), ok, records=[])
    bad = b"\x80\x02}(" + uni("w") + tensor_ops("0", "FloatStorage", 2, 1, [2], [1]) + b"u."
    torch_like_zip(os.path.join(OUT, "bad_extent.bin"), bad, records=[("0", two)])
    torch_like_zip(os.path.join(OUT, "big_endian.bin"), ok, records=[("0", struct.pack(">2f", 1.5, -2.5))],
                   byteorder=b"big")
    call = b"\x80\x02}(" + uni("w") + b"ctorch\nFloatStorage\n)Ru."
    torch_like_zip(os.path.join(OUT, "not_a_tensor_call.bin"), call)
    torch.save({"a": torch.tensor([1.0, 2.0])}, os.path.join(OUT, "legacy.bin"), _use_new_zipfile_serialization=False)
    # Sanity: the valid hand-written layout loads in torch (missing_storage must not).
    with tempfile.TemporaryDirectory() as scratch:
        probe = os.path.join(scratch, "ok.bin")
        torch_like_zip(probe, ok, records=[("0", two)])
        assert torch.load(probe, weights_only=True)["w"].tolist() == [1.5, -2.5]
    print("broken fixtures written")


def main():
    os.makedirs(OUT, exist_ok=True)
    adapter_fixture("seq_bn", "seq_bn")
    adapter_fixture("lora", "lora")
    dtypes_fixture()
    evil_fixtures()
    broken_fixtures()


if __name__ == "__main__":
    main()
