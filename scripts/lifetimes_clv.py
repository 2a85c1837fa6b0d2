"""The reference CLV fit for `panorama bench clv --lifetimes PYTHON`: lifetimes'
BetaGeoFitter and GammaGammaFitter (no penalty) on a summary CSV with columns
id, frequency, recency, T, monetary_value. Prints one JSON object with the
parameters and the seconds of each fit (reading the file is not timed)."""

import json
import sys
import time

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

df = pd.read_csv(sys.argv[1])
started = time.perf_counter()
bg = BetaGeoFitter(penalizer_coef=0.0)
bg.fit(df["frequency"], df["recency"], df["T"])
bg_seconds = time.perf_counter() - started
repeat = df[(df["frequency"] > 0) & (df["monetary_value"] > 0)]
started = time.perf_counter()
gg = GammaGammaFitter(penalizer_coef=0.0)
gg.fit(repeat["frequency"], repeat["monetary_value"])
gg_seconds = time.perf_counter() - started
print(
    json.dumps(
        {
            "bg_nbd": {k: float(v) for k, v in bg.params_.items()},
            "gamma_gamma": {k: float(v) for k, v in gg.params_.items()},
            "seconds": {"bg_nbd": bg_seconds, "gamma_gamma": gg_seconds},
        }
    )
)
