"""A seeded table with the shape of the public credit-card default data
(Taiwan, 30,000 card holders: credit limit, sex, education, marriage, age,
six months of repayment status, bill and payment amounts; all numeric, the
repayment statuses ordinal), for `panorama model cv` on dense numeric
columns with many distinct values.

usage: make_credit_default.py OUT.csv [ROWS]   (separator ',', target default = 1/0)"""

import math
import random
import sys

random.seed(13)
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 30000
months = range(1, 7)
with open(sys.argv[1], "w") as f:
    head = ["ID", "LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE"]
    head += [f"PAY_{m}" for m in months] + [f"BILL_AMT{m}" for m in months]
    head += [f"PAY_AMT{m}" for m in months] + ["default"]
    f.write(",".join(head) + "\n")
    for i in range(rows):
        limit = random.choice(range(10000, 800001, 10000)) if random.random() < 0.3 else int(random.lognormvariate(11.7, 0.8) // 10000 * 10000 + 10000)
        sex = random.choice([1, 2])
        education = random.choices([1, 2, 3, 4, 5, 6], [35, 47, 16, 1, 0.5, 0.5])[0]
        marriage = random.choices([1, 2, 3], [45, 53, 2])[0]
        age = int(min(79, max(21, random.gauss(35, 9))))
        risk = random.gauss(0, 1) - 0.3 * math.log(limit / 100000) + 0.1 * (education == 3)
        status, bills, pays = [], [], []
        bill = max(0.0, random.uniform(0, 1) * limit)
        late = 0
        for m in months:
            p_late = 1 / (1 + math.exp(-(risk * 1.3 - 1.6 + 0.5 * late)))
            if random.random() < p_late:
                late = min(late + 1, 8)
            elif random.random() < 0.6:
                late = 0
            s = late if late > 0 else random.choices([-2, -1, 0], [15, 20, 65])[0]
            status.append(s)
            bill = max(-5000.0, bill * random.uniform(0.8, 1.15) + random.gauss(0, 0.05 * limit))
            bills.append(int(min(bill, 1.1 * limit)))
            pay = 0 if late > 0 else int(abs(random.gauss(0.08, 0.1)) * max(bill, 1000))
            pays.append(pay)
        z = (-1.7 + 0.9 * max(status[0], 0) + 0.35 * max(status[1], 0) + 0.15 * sum(max(s, 0) for s in status[2:])
             + 0.45 * risk - 0.25 * math.log1p(sum(pays) / 1000) + 0.15 * (bills[0] > 0.9 * limit)
             + 0.1 * (sex == 1) - 0.005 * (age - 35) + 0.1 * (marriage == 1))
        y = 1 if random.random() < 1 / (1 + math.exp(-z)) else 0
        f.write(",".join(map(str, [i + 1, limit, sex, education, marriage, age] + status + bills + pays + [y])) + "\n")
