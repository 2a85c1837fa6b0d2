"""Reference for `panorama model cv --learner logistic`: scikit-learn's
LogisticRegression (C=1, lbfgs) in a pipeline of mean imputation, standard
scaling and one-hot encoding, 5-fold stratified cross-validated AUC.

usage: sklearn_cv.py FILE TARGET POSITIVE SEP [DROP,...]
Prints the fold AUCs, the fitting seconds and a last line `auc=0.XXXX`."""

import sys
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

path, target, positive, sep = sys.argv[1:5]
drop = [c for c in (sys.argv[5].split(",") if len(sys.argv) > 5 else []) if c]
df = pd.read_csv(path, sep=sep).drop(columns=drop)
y = (df.pop(target).astype(str) == positive).to_numpy()
numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
text = [c for c in df.columns if c not in numeric]
prep = ColumnTransformer(
    [
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore", drop="first"), text),
    ]
)
aucs, seconds = [], 0.0
for train, test in StratifiedKFold(5, shuffle=True, random_state=42).split(df, y):
    model = make_pipeline(prep, LogisticRegression(C=1.0, max_iter=1000))
    started = time.perf_counter()
    model.fit(df.iloc[train], y[train])
    seconds += time.perf_counter() - started
    aucs.append(roc_auc_score(y[test], model.predict_proba(df.iloc[test])[:, 1]))
print("folds", " ".join(f"{a:.4f}" for a in aucs))
print(f"training {seconds:.3f} s over 5 folds")
print(f"auc={np.mean(aucs):.4f}")
