#!/usr/bin/env python3
"""Writes Tests/Fixtures/statistics/task_metrics.json: reference values of the task metrics that
`Training.MetricMath` computes (regression, multi-label and tagging evaluation).

    .venv-bench/bin/python tools/make_metric_fixtures.py

Pinned (asserted): scipy 1.17.1, scikit-learn 1.9.1, seqeval 1.2.2. Seeded; rerunning gives the same file.

Layout
------
    correlations  [{x, y, pearson, spearman}]   scipy.stats.pearsonr / spearmanr (ties: average ranks), with
                                                ties, negative and near-perfect correlations
    multilabel    [{labels, truth, predicted, micro_f1, macro_f1, subset_accuracy}]
                                                truth / predicted 0/1 rows; sklearn f1_score(average="micro" /
                                                "macro", zero_division=0), accuracy_score (exact match)
    entities      [{tags, entities}]            seqeval.metrics.sequence_labeling.get_entities: IOB2, IOB1-style
                                                I- starts, IOBES, type changes, bare "B"/"I", odd tags
    tagging       [{truth, predicted, precision, recall, f1}]
                                                seqeval precision_score / recall_score / f1_score (default mode,
                                                micro) over lists of sentences with noisy predictions
"""
import json
import os
import random
import warnings

import scipy
import seqeval
import sklearn
from scipy import stats
from seqeval.metrics import f1_score as seq_f1, precision_score as seq_p, recall_score as seq_r
from seqeval.metrics.sequence_labeling import get_entities
from sklearn.metrics import accuracy_score, f1_score

assert scipy.__version__ == "1.17.1", scipy.__version__
assert sklearn.__version__ == "1.9.1", sklearn.__version__
assert getattr(seqeval, "__version__", "1.2.2") == "1.2.2"

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "statistics", "task_metrics.json")
warnings.filterwarnings("ignore")


def correlations(rng):
    out = []
    for n, kind in [(5, "random"), (30, "random"), (30, "ties"), (50, "negative"), (40, "near"), (200, "random")]:
        x = [rng.gauss(0, 1) for _ in range(n)]
        if kind == "ties":
            x = [float(rng.randrange(4)) for _ in range(n)]
            y = [v + float(rng.randrange(3)) for v in x]
        elif kind == "negative":
            y = [-2 * v + rng.gauss(0, 0.5) for v in x]
        elif kind == "near":
            y = [3 * v + 1 + rng.gauss(0, 1e-3) for v in x]
        else:
            y = [0.5 * v + rng.gauss(0, 1) for v in x]
        out.append({"x": x, "y": y, "pearson": float(stats.pearsonr(x, y)[0]), "spearman": float(stats.spearmanr(x, y)[0])})
    return out


def multilabel(rng):
    out = []
    for rows, labels, p in [(20, 3, 0.5), (50, 6, 0.2), (10, 4, 0.0), (30, 2, 0.9)]:
        truth = [[int(rng.random() < max(p, 0.3)) for _ in range(labels)] for _ in range(rows)]
        pred = [[t if rng.random() < 0.7 else 1 - t for t in row] for row in truth]
        if p == 0.0:  # a label never present nor predicted: counts 0 in the macro mean
            for row in truth + pred:
                row[-1] = 0
        out.append({"labels": labels, "truth": truth, "predicted": pred,
                    "micro_f1": float(f1_score(truth, pred, average="micro", zero_division=0)),
                    "macro_f1": float(f1_score(truth, pred, average="macro", zero_division=0)),
                    "subset_accuracy": float(accuracy_score(truth, pred))})
    return out


TYPES = ["PER", "LOC", "ORG", "MISC"]


def random_tags(rng, n, scheme):
    tags = []
    for _ in range(n):
        r = rng.random()
        if r < 0.5:
            tags.append("O")
        else:
            t = rng.choice(TYPES)
            prefix = rng.choice(["B", "I"] if scheme == "iob" else ["B", "I", "E", "S"])
            tags.append(f"{prefix}-{t}")
    return tags


def entities(rng):
    fixed = [
        ["B-PER", "I-PER", "O", "B-LOC"],
        ["I-PER", "I-PER", "O", "I-LOC", "B-LOC"],
        ["B-PER", "I-LOC", "I-LOC", "O"],
        ["S-PER", "B-LOC", "I-LOC", "E-LOC", "E-LOC", "S-ORG", "I-ORG"],
        ["B", "I", "O", "I", "B"],
        ["O", "O", "O"],
        ["B-PER-X", "I-PER-X", "B-", "I-"],
        [],
    ]
    out = [{"tags": t, "entities": [list(e) for e in get_entities(t)]} for t in fixed]
    for _ in range(20):
        t = random_tags(rng, rng.randrange(1, 30), rng.choice(["iob", "iobes"]))
        out.append({"tags": t, "entities": [list(e) for e in get_entities(t)]})
    return out


def tagging(rng):
    out = []
    for sentences, noise in [(10, 0.1), (40, 0.3), (5, 0.0), (20, 0.6)]:
        truth, pred = [], []
        for _ in range(sentences):
            t = random_tags(rng, rng.randrange(1, 25), "iob")
            p = [x if rng.random() >= noise else rng.choice(["O", "B-PER", "I-PER", "B-LOC", "I-ORG"]) for x in t]
            truth.append(t)
            pred.append(p)
        out.append({"truth": truth, "predicted": pred, "precision": float(seq_p(truth, pred)),
                    "recall": float(seq_r(truth, pred)), "f1": float(seq_f1(truth, pred))})
    return out


def main():
    rng = random.Random(19)
    data = {"correlations": correlations(rng), "multilabel": multilabel(rng), "entities": entities(rng),
            "tagging": tagging(rng)}
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
