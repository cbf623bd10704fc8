#!/usr/bin/env python3
"""Writes Tests/Fixtures/statistics/reference.json, the scipy reference values for `StatisticsTests`.

    python3 tools/make_statistics_fixtures.py

Pinned: scipy 1.17.1, numpy 2.4.6 (asserted below). Seeded; rerunning gives a byte-identical file.

Layout
------
    t_quantiles     [{p, df, ppf}]          scipy.stats.t.ppf(p, df): df 1…100 at p = 0.975, then other p
                                            (far tails, below one half) and non-integer or large df
    t_cdf           [{t, df, cdf}]          scipy.stats.t.cdf(t, df)
    summaries       [{name, values, confidence, mean, std, sem, ci}]
                                            numpy mean / std(ddof=1); scipy.stats.sem; ci = scipy.stats.t.interval(
                                            confidence, n - 1, loc=mean, scale=sem) as [low, high], null for n = 1,
                                            [mean, mean] when sem = 0 (scipy gives NaN there)
    mcnemar         [{name, a, b, b01, b10, exact_p, chi2, chi2_p}]
                                            a, b: per-example correctness as strings of 0/1; b01 = a wrong and
                                            b right, b10 = a right and b wrong; exact_p =
                                            scipy.stats.binomtest(b01, b01 + b10, 0.5).pvalue (1 with no discordant
                                            pairs, where binomtest refuses n = 0); chi2 = (|b01 - b10| - 1)^2 /
                                            (b01 + b10) (statsmodels' / R's continuity-corrected statistic, 0 with
                                            no discordant pairs) and chi2_p = scipy.stats.chi2.sf(chi2, 1)
"""
import json
import os

import numpy as np
import scipy
from scipy import stats

from fixture_env import require

require("scipy", "numpy")

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "statistics")


def t_quantiles():
    cases = [{"p": 0.975, "df": float(df), "ppf": float(stats.t.ppf(0.975, df))} for df in range(1, 101)]
    for p in [0.5, 0.6, 0.9, 0.95, 0.995, 0.999999, 0.025, 0.1, 1e-10, 0.75]:
        for df in [1.0, 2.0, 3.0, 7.0, 30.0]:
            cases.append({"p": p, "df": df, "ppf": float(stats.t.ppf(p, df))})
    for df in [0.5, 2.5, 12.25, 150.0, 1000.0]:
        for p in [0.975, 0.05]:
            cases.append({"p": p, "df": df, "ppf": float(stats.t.ppf(p, df))})
    return cases


def t_cdf():
    return [{"t": t, "df": df, "cdf": float(stats.t.cdf(t, df))}
            for t in [-40.0, -3.5, -1.0, -0.1, 0.0, 0.3, 2.0, 12.7, 1e4]
            for df in [1.0, 4.0, 9.5, 60.0]]


def summary(name, values, confidence=0.95):
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    mean = float(np.mean(values))
    std = float(np.std(values, ddof=1)) if n > 1 else 0.0
    sem = float(stats.sem(values)) if n > 1 else 0.0
    ci = None
    if n > 1 and sem == 0:
        ci = [mean, mean]  # t.interval refuses scale 0 (NaN); no spread is a zero-width interval
    elif n > 1:
        low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
        ci = [float(low), float(high)]
    return {"name": name, "values": [float(v) for v in values], "confidence": confidence,
            "mean": mean, "std": std, "sem": sem, "ci": ci}


def summaries(rng):
    return [
        summary("two seeds", [0.842, 0.857]),
        summary("three seeds", [84.1, 83.2, 85.0]),
        summary("five seeds", rng.normal(0.8, 0.01, 5)),
        summary("ten seeds, 90 %", rng.normal(-3.0, 2.0, 10), confidence=0.9),
        summary("thirty values", rng.normal(10.0, 0.5, 30)),
        summary("large offset", 1e9 + rng.normal(0.0, 1.0, 6)),
        summary("one value", [0.75]),
        summary("all equal", [2.5, 2.5, 2.5, 2.5]),
        summary("99 %", rng.uniform(0.0, 1.0, 8), confidence=0.99),
    ]


def mcnemar(name, a, b):
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    b01 = int(np.sum(~a & b))
    b10 = int(np.sum(a & ~b))
    n = b01 + b10
    exact = float(stats.binomtest(b01, n, 0.5).pvalue) if n > 0 else 1.0
    chi2 = (abs(b01 - b10) - 1) ** 2 / n if n > 0 else 0.0
    chi2_p = float(stats.chi2.sf(chi2, 1)) if n > 0 else 1.0
    as_text = lambda v: "".join("1" if x else "0" for x in v)
    return {"name": name, "a": as_text(a), "b": as_text(b), "b01": b01, "b10": b10,
            "exact_p": exact, "chi2": float(chi2), "chi2_p": chi2_p}


def correlated(rng, n, acc_a, acc_b, flip):
    """Two classifiers that agree except on a `flip` fraction of examples, redrawn independently there."""
    a = rng.random(n) < acc_a
    b = a.copy()
    redraw = rng.random(n) < flip
    b[redraw] = rng.random(int(redraw.sum())) < acc_b
    return a, b


def mcnemars(rng):
    cases = []
    for n, acc_a, acc_b, flip in [(200, 0.85, 0.80, 0.3), (1000, 0.90, 0.88, 0.2), (1000, 0.9, 0.9, 0.1),
                                  (2000, 0.70, 0.60, 0.5), (50, 0.6, 0.6, 0.5), (5000, 0.91, 0.905, 0.15)]:
        a, b = correlated(rng, n, acc_a, acc_b, flip)
        cases.append(mcnemar(f"n={n} acc {acc_a}/{acc_b} flip {flip}", a, b))
    cases.append(mcnemar("identical", [True, False, True, True], [True, False, True, True]))
    cases.append(mcnemar("balanced discordance", [True, False, True, False, True], [False, True, True, False, True]))
    cases.append(mcnemar("one discordant", [True, True, True], [True, False, True]))
    cases.append(mcnemar("all one way", [True] * 12, [False] * 12))
    cases.append(mcnemar("b better by 9 of 11", [False] * 9 + [True] * 2 + [True] * 30,
                         [True] * 9 + [False] * 2 + [True] * 30))
    return cases


def main():
    rng = np.random.default_rng(20240611)
    data = {
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "t_quantiles": t_quantiles(),
        "t_cdf": t_cdf(),
        "summaries": summaries(rng),
        "mcnemar": mcnemars(rng),
    }
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "reference.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    print(os.path.normpath(path), os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
