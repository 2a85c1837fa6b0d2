"""A seeded bank-marketing-like table for `panorama model cv` comparisons:
45,000 customers with ages, jobs, marital status, education, balances (2%
missing), call durations, contacts, days since the last campaign, housing
loans, and a target drawn from a nonlinear propensity.

usage: make_bankish.py OUT.csv   (separator ';', target y = yes/no)"""

import math
import random
import sys

random.seed(11)
jobs = ["admin", "technician", "services", "management", "retired", "blue-collar", "student", "unemployed"]
marital = ["married", "single", "divorced"]
education = ["primary", "secondary", "tertiary", "unknown"]
with open(sys.argv[1], "w") as f:
    f.write("id;age;job;marital;education;balance;duration;campaign;pdays;housing;y\n")
    for i in range(45000):
        age = random.randint(18, 90)
        job = random.choice(jobs)
        m = random.choice(marital)
        e = random.choice(education)
        bal = int(random.lognormvariate(7, 1.5)) - 500
        dur = int(random.expovariate(1 / 250))
        camp = 1 + int(random.expovariate(1 / 2))
        pdays = -1 if random.random() < 0.8 else random.randint(1, 400)
        housing = random.choice(["yes", "no"])
        z = (
            -3.2
            + 0.004 * dur
            + 0.6 * (job in ("retired", "student"))
            + 0.0001 * bal
            - 0.15 * camp
            + 0.8 * (pdays > 0)
            - 0.4 * (housing == "yes")
            + 0.02 * max(0, age - 60)
            + 0.3 * (e == "tertiary")
        )
        y = "yes" if random.random() < 1 / (1 + math.exp(-z)) else "no"
        shown = "" if random.random() < 0.02 else str(bal)
        f.write(f"{i};{age};{job};{m};{e};{shown};{dur};{camp};{pdays};{housing};{y}\n")
