"""Reference for `panorama model cv --learner gbdt`: LightGBM's LGBMClassifier
with its defaults (100 trees, 31 leaves, learning rate 0.1), text columns as
pandas categories, 5-fold stratified cross-validated AUC.

usage: lightgbm_cv.py FILE TARGET POSITIVE SEP [DROP,...]
Prints the fold AUCs, the fitting seconds and a last line `auc=0.XXXX`."""

import sys
import time

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

path, target, positive, sep = sys.argv[1:5]
drop = [c for c in (sys.argv[5].split(",") if len(sys.argv) > 5 else []) if c]
df = pd.read_csv(sys.argv[1], sep=sep).drop(columns=drop)
y = (df.pop(target).astype(str) == positive).to_numpy()
for c in df.columns:
    if not pd.api.types.is_numeric_dtype(df[c]):
        df[c] = df[c].astype("category")
aucs, seconds = [], 0.0
for train, test in StratifiedKFold(5, shuffle=True, random_state=42).split(df, y):
    model = lgb.LGBMClassifier(verbose=-1)
    started = time.perf_counter()
    model.fit(df.iloc[train], y[train])
    seconds += time.perf_counter() - started
    aucs.append(roc_auc_score(y[test], model.predict_proba(df.iloc[test])[:, 1]))
print("folds", " ".join(f"{a:.4f}" for a in aucs))
print(f"training {seconds:.3f} s over 5 folds")
print(f"auc={np.mean(aucs):.4f}")
