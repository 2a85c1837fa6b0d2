"""Reference for `panorama model train --learner gbdt --export DIR`: LightGBM's
LGBMClassifier with its defaults (at most 100 trees, 31 leaves, learning rate
0.1) fitted on DIR/train.csv (the same encoded features Panorama trained on),
stopped early on DIR/valid.csv as Panorama stops (10 trees without a better
validation log loss), and scored on DIR/test.csv.

usage: lightgbm_train_test.py DIR
Prints the fitting seconds, the trees kept and a last line `auc=0.XXXX`."""

import sys
import warnings
import time

import lightgbm as lgb
import pandas as pd
from sklearn.metrics import roc_auc_score

warnings.filterwarnings("ignore", module="lightgbm")
folder = sys.argv[1]
train = pd.read_csv(f"{folder}/train.csv")
valid = pd.read_csv(f"{folder}/valid.csv")
test = pd.read_csv(f"{folder}/test.csv")
y_train, y_valid, y_test = (d.pop("y").to_numpy() for d in (train, valid, test))
# LightGBM refuses some characters in names (`tier=gold`); the columns stay in order.
train.columns = valid.columns = test.columns = [f"f{i}" for i in range(train.shape[1])]
model = lgb.LGBMClassifier(verbose=-1)
started = time.perf_counter()
model.fit(
    train,
    y_train,
    eval_set=[(valid, y_valid)],
    eval_metric="binary_logloss",
    callbacks=[lgb.early_stopping(10, verbose=False)],
)
seconds = time.perf_counter() - started
print(
    f"{len(train)} training rows, {train.shape[1]} features: fitted in {seconds:.3f} s, "
    f"{model.best_iteration_} trees kept"
)
print(f"auc={roc_auc_score(y_test, model.predict_proba(test)[:, 1]):.4f}")
