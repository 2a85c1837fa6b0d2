#!/usr/bin/env python3
"""Runs Panorama's feature SQL in DuckDB on the same Parquet snapshot, for
`panorama bench features --duckdb PYTHON`. Prints one line per run and
best_seconds=N last. DuckDB gets integer division on `/`, as DataFusion has."""
import argparse
import os
import time

import duckdb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--snapshot", required=True)
    ap.add_argument("--sql", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    sql = open(a.sql, encoding="utf-8").read()
    best = None
    for run in range(1, a.runs + 1):
        con = duckdb.connect()
        con.execute(f"SET threads = {a.threads}")
        con.execute("SET integer_division = true")
        s = a.snapshot
        for name in ("customer", "account", "product"):
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{s}/{name}.parquet')")
        for name in ("balance", "txn"):
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{s}/{name}/*.parquet')")
        t = time.perf_counter()
        con.execute(f"COPY ({sql}) TO '{a.out}' (FORMAT parquet)")
        secs = time.perf_counter() - t
        n = con.execute(f"SELECT COUNT(*) FROM read_parquet('{a.out}')").fetchone()[0]
        print(f"duckdb {duckdb.__version__} run {run}: {n} customers in {secs:.2f}s (threads={a.threads})")
        best = secs if best is None else min(best, secs)
        con.close()
    print(f"best_seconds={best:.3f}")


if __name__ == "__main__":
    main()
