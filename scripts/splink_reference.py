"""Reference run of Splink (DuckDB backend) on the same files as `panorama match`,
for side-by-side figures. Not part of the product; run from a throwaway venv:
  python3 -m venv .venv-bench && .venv-bench/bin/pip install splink duckdb pandas pyarrow
  .venv-bench/bin/python scripts/splink_reference.py febrl FILE TRUTH.csv
  .venv-bench/bin/python scripts/splink_reference.py bank FILE TRUTH.csv
  .venv-bench/bin/python scripts/splink_reference.py company FILE TRUTH.csv
Prints wall seconds, peak memory, candidate pairs and pairwise precision/recall/F1
of clusters at 0.99. For `bank` files, ids, mobiles and dates are normalised first
(full-width digits, lower-case x, 15-digit ids upgraded, +86 dropped, dates as digits),
so Splink compares what Panorama's standardisation compares.
"""
import re
import resource
import sys
import time
from collections import defaultdict

import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on


def pairwise(cluster_of, entity_of):
    def within(keys):
        counts = defaultdict(int)
        for k in keys:
            counts[k] += 1
        return sum(c * (c - 1) // 2 for c in counts.values())
    ids = list(cluster_of)
    pred = within(cluster_of[i] for i in ids)
    act = within(entity_of[i] for i in ids)
    both = within((cluster_of[i], entity_of[i]) for i in ids)
    p, r = both / max(pred, 1), both / max(act, 1)
    return p, r, 2 * p * r / max(p + r, 1e-12)


ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def half_width(v):
    return "".join(chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else c for c in v)


def resident_id(v):
    if not isinstance(v, str):
        return None
    v = re.sub(r"[\s-]", "", half_width(v)).upper()
    if len(v) == 15 and v.isdigit():
        body = v[:6] + "19" + v[6:]
        total = sum(int(d) * w for d, w in zip(body, ID_WEIGHTS))
        v = body + "10X98765432"[total % 11]
    return v or None


def mobile(v):
    if not isinstance(v, str):
        return None
    d = re.sub(r"\D", "", half_width(v))
    if len(d) == 13 and d.startswith("86"):
        d = d[2:]
    return d or None


def digits(v):
    return re.sub(r"\D", "", v) if isinstance(v, str) and v else None


def main():
    kind, path, truth_path = sys.argv[1:4]
    started = time.time()
    if kind == "febrl":
        df = pd.read_csv(path, dtype=str, skipinitialspace=True).fillna("")
        df.columns = [c.strip() for c in df.columns]
        df = df.rename(columns={"rec_id": "record_id"}).replace("", None)
        comparisons = [
            cl.JaroWinklerAtThresholds("given_name", [0.92, 0.8]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("surname", [0.92, 0.8]).configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("street_number", [1]),
            cl.JaroWinklerAtThresholds("address_1", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("address_2", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("suburb", [0.92, 0.8]),
            cl.DamerauLevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("state"),
            cl.DamerauLevenshteinAtThresholds("date_of_birth", [1]),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1]),
        ]
        blocking = [block_on("soc_sec_id"), block_on("date_of_birth"), block_on("surname", "postcode"),
                    block_on("given_name", "suburb"), block_on("address_1", "street_number"), block_on("postcode", "suburb")]
        train = [block_on("date_of_birth"), block_on("soc_sec_id")]
        deterministic = [block_on("soc_sec_id")]
    elif kind == "company":
        df = pd.read_csv(path, dtype=str).fillna("").replace("", None)
        df["credit_code"] = df["credit_code"].map(lambda v: v.upper() if isinstance(v, str) and v else None)
        comparisons = [
            cl.JaroWinklerAtThresholds("name", [0.92, 0.8]).configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("credit_code", [1]),
            cl.JaroWinklerAtThresholds("address", [0.92, 0.8]),
            cl.ExactMatch("industry"),
        ]
        blocking = [block_on("credit_code"), block_on("name"), block_on("address")]
        train = [block_on("credit_code"), block_on("name")]
        deterministic = [block_on("credit_code")]
    else:
        df = pd.read_csv(path, dtype=str).fillna("").replace("", None)
        df["id_no"] = df["id_no"].map(resident_id)
        df["mobile"] = df["mobile"].map(mobile)
        df["birth_date"] = df["birth_date"].map(digits)
        comparisons = [
            cl.JaroWinklerAtThresholds("name", [0.92, 0.8]).configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("id_no", [1]),
            cl.DamerauLevenshteinAtThresholds("mobile", [1]),
            cl.DamerauLevenshteinAtThresholds("birth_date", [1]),
            cl.ExactMatch("gender"),
            cl.JaroWinklerAtThresholds("address", [0.92, 0.8]),
            cl.ExactMatch("email"),
        ]
        blocking = [block_on("id_no"), block_on("mobile"), block_on("name", "birth_date"),
                    block_on("name", "address"), block_on("birth_date", "address")]
        train = [block_on("id_no"), block_on("name", "birth_date")]
        deterministic = [block_on("id_no")]
    settings = SettingsCreator(link_type="dedupe_only", unique_id_column_name="record_id",
                               comparisons=comparisons, blocking_rules_to_generate_predictions=blocking)
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(df), settings)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.9)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in train:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.99).as_pandas_dataframe()
    seconds = time.time() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Candidate pairs (not timed): every blocked pair, whatever its score.
    pairs = linker.inference.predict(threshold_match_probability=0.0).as_duckdbpyrelation().count("*").fetchall()[0][0]
    truth = pd.read_csv(truth_path, dtype=str)
    entity_of = dict(zip(truth.iloc[:, 0], truth.iloc[:, 1]))
    cluster_of = dict(zip(clusters["record_id"], clusters["cluster_id"]))
    p, r, f1 = pairwise(cluster_of, entity_of)
    print(f"splink {kind}: records={len(df)} pairs={pairs} seconds={seconds:.1f} peak_mb={peak_mb:.0f} "
          f"precision={p:.4f} recall={r:.4f} f1={f1:.4f}")


if __name__ == "__main__":
    main()
