"""A seeded table with the shape of the public bank-marketing data (UCI
"bank-full": 17 columns, 9 of them text with 2 to 12 levels, call duration,
month and the previous campaign's outcome as the strong drivers), for
`panorama model cv` against LightGBM and scikit-learn where the public file
is not at hand.

usage: make_bank_marketing.py OUT.csv [ROWS]   (separator ';', target y = yes/no)"""

import math
import random
import sys

random.seed(7)
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 45211
jobs = [("blue-collar", 9732), ("management", 9458), ("technician", 7597), ("admin.", 5171),
        ("services", 4154), ("retired", 2264), ("self-employed", 1579), ("entrepreneur", 1487),
        ("unemployed", 1303), ("housemaid", 1240), ("student", 938), ("unknown", 288)]
job_effect = {"retired": 0.5, "student": 0.7, "unemployed": 0.2, "blue-collar": -0.35,
              "management": 0.1, "housemaid": -0.2, "entrepreneur": -0.25}
months = [("may", 13766), ("jul", 6895), ("aug", 6247), ("jun", 5341), ("nov", 3970),
          ("apr", 2932), ("feb", 2649), ("jan", 1403), ("oct", 738), ("sep", 579),
          ("mar", 477), ("dec", 214)]
month_effect = {"may": -0.5, "jul": -0.2, "aug": -0.1, "jun": 0.1, "nov": -0.2, "apr": 0.3,
                "feb": 0.2, "jan": -0.6, "oct": 1.3, "sep": 1.2, "mar": 1.6, "dec": 1.2}


def pick(weighted):
    total = sum(w for _, w in weighted)
    r = random.uniform(0, total)
    for v, w in weighted:
        r -= w
        if r <= 0:
            return v
    return weighted[-1][0]


with open(sys.argv[1], "w") as f:
    f.write("age;job;marital;education;default;balance;housing;loan;contact;day;month;"
            "duration;campaign;pdays;previous;poutcome;y\n")
    for _ in range(rows):
        job = pick(jobs)
        age = int(min(95, max(18, random.gauss(63 if job == "retired" else 25 if job == "student" else 40, 9))))
        marital = pick([("married", 27214), ("single", 12790), ("divorced", 5207)])
        education = pick([("secondary", 23202), ("tertiary", 13301), ("primary", 6851), ("unknown", 1857)])
        default = "yes" if random.random() < 0.018 else "no"
        balance = int(random.lognormvariate(6.5, 1.6)) - 400
        housing = "yes" if random.random() < (0.35 if age > 55 else 0.6) else "no"
        loan = "yes" if random.random() < 0.16 else "no"
        contact = pick([("cellular", 29285), ("unknown", 13020), ("telephone", 2906)])
        day = random.randint(1, 31)
        month = pick(months)
        duration = int(random.expovariate(1 / 258))
        campaign = 1 + int(random.expovariate(1 / 1.8))
        contacted = random.random() < 0.18
        pdays = random.randint(1, 870) if contacted else -1
        previous = 1 + int(random.expovariate(1 / 1.5)) if contacted else 0
        poutcome = pick([("failure", 4901), ("other", 1840), ("success", 1511)]) if contacted else "unknown"
        z = (-3.1 + 0.0045 * min(duration, 1500) - 0.0000012 * min(duration, 1500) ** 2
             + job_effect.get(job, 0.0) + month_effect[month]
             + (2.2 if poutcome == "success" else 0.15 if poutcome == "other" else 0.0)
             - 0.9 * (contact == "unknown") - 0.55 * (housing == "yes") - 0.4 * (loan == "yes")
             + 0.25 * (education == "tertiary") + 0.00004 * min(balance, 20000)
             - 0.1 * min(campaign, 10) + 0.3 * (marital == "single")
             + 0.025 * max(0, age - 60) - 0.3 * (default == "yes")
             + 0.2 * math.sin(day / 5.0))
        y = "yes" if random.random() < 1 / (1 + math.exp(-z)) else "no"
        f.write(f"{age};{job};{marital};{education};{default};{balance};{housing};{loan};{contact};"
                f"{day};{month};{duration};{campaign};{pdays};{previous};{poutcome};{y}\n")
