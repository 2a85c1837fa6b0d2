//! Renders a chunk of parties into each source system's extract rows, with
//! each system's own keys, layout, code tables and typical errors.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Poisson};
use rand_pcg::Pcg64Mcg;

use crate::bank::{PRODUCTS, product};
use crate::csvout::Row;
use crate::data::{HOMOPHONES, MCCS};
use crate::people::{
    Company, HouseholdRole, Person, World, decide_outcomes, lognormal, month_start, sys,
};

/// The files a chunk writes, in [`FILES`] order.
pub mod f {
    #![allow(missing_docs)]
    pub const CORE_CUSTOMERS: usize = 0;
    pub const CORE_RELATIONSHIPS: usize = 1;
    pub const CORE_ACCOUNTS: usize = 2;
    pub const CORE_BALANCES: usize = 3;
    pub const CORE_TXNS: usize = 4;
    pub const CARD_CUSTOMERS: usize = 5;
    pub const CARD_ACCOUNTS: usize = 6;
    pub const CARD_BALANCES: usize = 7;
    pub const CARD_TXNS: usize = 8;
    pub const LOAN_CUSTOMERS: usize = 9;
    pub const LOAN_ACCOUNTS: usize = 10;
    pub const LOAN_BALANCES: usize = 11;
    pub const WEALTH_CUSTOMERS: usize = 12;
    pub const WEALTH_ACCOUNTS: usize = 13;
    pub const WEALTH_BALANCES: usize = 14;
    pub const ECHANNEL_CUSTOMERS: usize = 15;
    pub const TRUTH_RECORDS: usize = 16;
    pub const TRUTH_PARTIES: usize = 17;
    pub const TRUTH_HOUSEHOLDS: usize = 18;
    pub const TRUTH_RELATIONSHIPS: usize = 19;
    pub const TRUTH_PROPENSITY: usize = 20;
}

/// File name and header of every chunked file.
pub const FILES: &[(&str, &str)] = &[
    (
        "core_customers.csv",
        "CUST_NO,CUST_TYPE,CUST_NAME,GENDER,BIRTH_DT,CERT_TYPE,CERT_NO,CREDIT_CODE,MOBILE,TEL,EMAIL,ADDR,POST_CODE,INDUSTRY,OCCUPATION,OPEN_BRANCH,OPEN_DT",
    ),
    (
        "core_relationships.csv",
        "CUST_NO,REL_CUST_NO,REL_TYPE,START_DT",
    ),
    (
        "core_accounts.csv",
        "ACCT_NO,CUST_NO,PROD_CODE,BRANCH,CCY,OPEN_DT,MATURITY_DT,CLOSE_DT,STATUS,RATE_BP,SALES_STAFF",
    ),
    ("core_balances.csv", "ACCT_NO,MONTH,AVG_BAL,END_BAL"),
    (
        "core_transactions.csv",
        "TXN_NO,ACCT_NO,TXN_TIME,AMOUNT,DC_FLAG,CHANNEL,MCC,OPP_ACCT,OPP_NAME,BALANCE",
    ),
    (
        "card_customers.csv",
        "CARDHOLDER_ID,NAME,SEX,DOB,ID_NUMBER,MOBILE_PHONE,EMAIL,HOME_ADDRESS,APPLY_DATE",
    ),
    (
        "card_accounts.csv",
        "CARD_NO,CARDHOLDER_ID,PRODUCT,CREDIT_LIMIT_FEN,ISSUE_DATE,CLOSE_DATE,STATUS",
    ),
    (
        "card_balances.csv",
        "CARD_NO,STMT_MONTH,AVG_BALANCE_FEN,STATEMENT_BALANCE_FEN",
    ),
    (
        "card_transactions.csv",
        "AUTH_NO,CARD_NO,TRANS_DATETIME,AMOUNT_FEN,DIRECTION,CHANNEL,MCC,MERCHANT_NAME",
    ),
    (
        "loan_customers.csv",
        "BORROWER_ID,BORROWER_TYPE,BORROWER_NAME,GENDER,BIRTH_DATE,ID_NO,USCC,PHONE,ADDRESS,INDUSTRY,BRANCH,FIRST_LOAN_DATE",
    ),
    (
        "loan_accounts.csv",
        "CONTRACT_NO,BORROWER_ID,PRODUCT_CODE,BRANCH,PRINCIPAL,START_DATE,END_DATE,SETTLE_DATE,STATUS,RATE_BP,MKT_STAFF",
    ),
    (
        "loan_balances.csv",
        "CONTRACT_NO,MONTH,AVG_OUTSTANDING,END_OUTSTANDING",
    ),
    (
        "wealth_customers.csv",
        "INVESTOR_NO,INVESTOR_NAME,GENDER,BIRTHDAY,ID_CARD,MOBILE,EMAIL,ADDRESS,OPEN_DATE",
    ),
    (
        "wealth_accounts.csv",
        "HOLDING_NO,INVESTOR_NO,PRODUCT_CODE,BUY_DATE,MATURITY_DATE,REDEEM_DATE,STATUS",
    ),
    (
        "wealth_balances.csv",
        "HOLDING_NO,MONTH,AVG_VALUE,END_VALUE",
    ),
    (
        "echannel_customers.csv",
        "USER_ID,REAL_NAME,MOBILE,ID_CARD,REGISTER_TIME",
    ),
    ("truth/records.csv", "system,source_key,party_id"),
    (
        "truth/parties.csv",
        "party_id,party_type,name,id_no,credit_code,mobile,birth_date,household_id",
    ),
    ("truth/households.csv", "household_id,party_id,role"),
    ("truth/relationships.csv", "from_party_id,to_party_id,kind"),
    (
        "truth/propensity.csv",
        "party_id,p_card_uptake,card_uptake_month,p_churn,churn_month,p_wealth_response",
    ),
];

/// Rows of one chunk, one buffer per file, and row counts.
pub struct ChunkOut {
    /// File contents (without headers).
    pub bufs: Vec<Vec<u8>>,
    /// Rows per file.
    pub rows: Vec<u64>,
}

/// Scrambles an index into a 10-digit key unique per system (a bijection mod 10^10).
fn key(prefix: &str, index: u64, mult: u64, add: u64) -> String {
    let v = (u128::from(index) * u128::from(mult) + u128::from(add)) % 10_000_000_000;
    format!("{prefix}{v:010}")
}

/// Adds a Luhn check digit.
fn luhn(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// An account cannot open after its customer left: such an opening moves to
/// a week before the leaving date (but not before the customer joined).
fn open_before(opened: NaiveDate, since: NaiveDate, churn: Option<NaiveDate>) -> NaiveDate {
    match churn {
        Some(c) if opened >= c => (c - Duration::days(7)).max(since).min(c),
        _ => opened,
    }
}

/// Per-system probabilities of the errors clerks and systems introduce.
struct Noise {
    name_typo: f64,
    id_missing: f64,
    id_legacy: f64,
    id_swap: f64,
    mobile_old: f64,
    addr_abbrev: f64,
}

const CORE_NOISE: Noise = Noise {
    name_typo: 0.02,
    id_missing: 0.01,
    id_legacy: 0.25,
    id_swap: 0.005,
    mobile_old: 0.10,
    addr_abbrev: 0.2,
};
const CARD_NOISE: Noise = Noise {
    name_typo: 0.04,
    id_missing: 0.02,
    id_legacy: 0.0,
    id_swap: 0.01,
    mobile_old: 0.15,
    addr_abbrev: 0.5,
};
const LOAN_NOISE: Noise = Noise {
    name_typo: 0.01,
    id_missing: 0.0,
    id_legacy: 0.0,
    id_swap: 0.003,
    mobile_old: 0.2,
    addr_abbrev: 0.3,
};
const WEALTH_NOISE: Noise = Noise {
    name_typo: 0.03,
    id_missing: 0.01,
    id_legacy: 0.05,
    id_swap: 0.01,
    mobile_old: 0.1,
    addr_abbrev: 0.4,
};
const ECHANNEL_NOISE: Noise = Noise {
    name_typo: 0.03,
    id_missing: 0.2,
    id_legacy: 0.0,
    id_swap: 0.01,
    mobile_old: 0.0,
    addr_abbrev: 1.0,
};

/// A person as one system holds them.
struct View {
    name: String,
    id: Option<String>,
    mobile: String,
    address: String,
}

fn typo(rng: &mut Pcg64Mcg, name: &str) -> String {
    let chars: Vec<&str> = name.split("").filter(|s| !s.is_empty()).collect();
    let candidates: Vec<(usize, &[&str])> = chars
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            HOMOPHONES
                .iter()
                .find(|(k, _)| k == c)
                .map(|(_, v)| (i, *v))
        })
        .collect();
    match candidates.choose(rng) {
        Some((i, alts)) => {
            let mut out: Vec<&str> = chars.clone();
            out[*i] = alts.choose(rng).copied().unwrap_or(chars[*i]);
            out.concat()
        }
        // No homophone known: a stray full-width space, as typed at a counter.
        None => format!("{}\u{3000}{}", chars[0], chars[1..].concat()),
    }
}

fn view(rng: &mut Pcg64Mcg, p: &Person, noise: &Noise, as_of_year: i32) -> View {
    let mut name = p.name();
    if rng.random_bool(noise.name_typo) {
        name = typo(rng, &name);
    } else if rng.random_bool(0.01) {
        name.push(' ');
    }
    let id = if rng.random_bool(noise.id_missing) {
        None
    } else if p.birth.year() < 1990
        && as_of_year - p.birth.year() > 40
        && rng.random_bool(noise.id_legacy)
    {
        Some(format!("{}{}", &p.id18[..6], &p.id18[8..17]))
    } else if rng.random_bool(noise.id_swap) {
        let mut b = p.id18.clone().into_bytes();
        let i = rng.random_range(6..16);
        b.swap(i, i + 1);
        Some(String::from_utf8(b).unwrap_or_else(|_| p.id18.clone()))
    } else if rng.random_bool(0.02) {
        Some(p.id18.to_lowercase())
    } else {
        Some(p.id18.clone())
    };
    let mobile = if rng.random_bool(noise.mobile_old) {
        p.old_mobile.clone()
    } else {
        p.mobile.clone()
    };
    let a = &p.address;
    let address = if rng.random_bool(noise.addr_abbrev) {
        match rng.random_range(0..3) {
            0 => format!("{}{}", a.division.district, a.street_part(true, true)),
            1 => format!(
                "{}{}{}",
                a.division.city,
                a.division.district,
                a.street_part(false, false)
            ),
            _ => format!("{}{}", a.division.district, a.street_part(false, false)),
        }
    } else {
        a.full()
    };
    View {
        name,
        id,
        mobile,
        address,
    }
}

/// Generates chunk `c` of the bank: parties `[start, end)`.
pub fn chunk(world: &World, seed: u64, c: u64, start: u64, end: u64) -> ChunkOut {
    let mut rng =
        Pcg64Mcg::seed_from_u64(seed ^ (c.wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut out = ChunkOut {
        bufs: vec![Vec::new(); FILES.len()],
        rows: vec![0; FILES.len()],
    };
    let n = (end - start) as usize;
    let n_companies = ((n as f64) * 0.03).round() as usize;
    let n_people = n - n_companies;
    let seq_base = c as u32;

    // People, in households.
    let mut people: Vec<Person> = Vec::with_capacity(n_people);
    let mut used_ids = std::collections::HashSet::new();
    while people.len() < n_people {
        let pid = start + people.len() as u64;
        let members = world.household(&mut rng, pid, pid, seq_base, n_people - people.len());
        for mut m in members {
            // Resident ids are unique: redraw the birthday on a clash.
            while !used_ids.insert(m.id18.clone()) {
                m.birth += Duration::days(1);
                let body = format!(
                    "{}{}{}",
                    &m.id18[..6],
                    m.birth.format("%Y%m%d"),
                    &m.id18[14..17]
                );
                m.id18 = format!(
                    "{body}{}",
                    panorama_domain::resident_id::check_char(body.as_bytes())
                );
            }
            people.push(m);
        }
    }
    // Companies, with officers, payroll and suppliers drawn from this chunk.
    let mut companies: Vec<Company> = (0..n_companies)
        .map(|k| {
            world.company(
                &mut rng,
                start + (n_people + k) as u64,
                (start + (n_people + k) as u64) as u32,
            )
        })
        .collect();
    let adults: Vec<usize> = (0..people.len())
        .filter(|&i| world.as_of.year() - people[i].birth.year() < 62)
        .collect();
    for (k, co) in companies.iter_mut().enumerate() {
        if adults.is_empty() {
            break;
        }
        let pick = |rng: &mut Pcg64Mcg| adults[rng.random_range(0..adults.len())];
        co.officers.push((pick(&mut rng), "legal_representative"));
        if rng.random_bool(0.6) {
            co.officers.push((pick(&mut rng), "executive"));
        }
        if rng.random_bool(0.5) {
            co.officers.push((pick(&mut rng), "shareholder"));
        }
        co.officers.push((pick(&mut rng), "finance_contact"));
        if co.has_loan && rng.random_bool(0.5) {
            co.officers.push((pick(&mut rng), "guarantor"));
        }
        for _ in 0..rng.random_range(3..30) {
            co.employees.push(pick(&mut rng));
        }
        if n_companies > 1 {
            for _ in 0..rng.random_range(1..4) {
                let s = rng.random_range(0..n_companies);
                if s != k {
                    co.suppliers.push(s);
                }
            }
        }
    }
    for (k, co) in companies.iter().enumerate() {
        for &e in &co.employees {
            if people[e].employer.is_none() {
                let salary = lognormal(&mut rng, 7_000.0, 0.5).clamp(2_500.0, 80_000.0) as u32;
                people[e].employer = Some((k, salary));
            }
        }
    }
    for p in people.iter_mut() {
        decide_outcomes(&mut rng, p, world.as_of);
    }

    let mut g = Gen {
        world,
        rng,
        out: &mut out,
        txn_seq: 0,
        chunk: c,
        core_accounts: vec![None; companies.len()],
    };
    // Company accounts first so that salary and supplier flows can name them.
    for (k, co) in companies.iter().enumerate() {
        g.company_records(k, co);
    }
    for (k, co) in companies.iter().enumerate() {
        g.company_flows(k, co, &companies);
    }
    for p in &people {
        g.person_records(p, &companies);
    }
    for co in &companies {
        for (i, kind) in &co.officers {
            let person = &people[*i];
            if person.systems & sys::CORE != 0 {
                let since = co.since.max(person.since);
                Row::new(&mut g.out.bufs[f::CORE_RELATIONSHIPS])
                    .s(&core_key(person.pid))
                    .s(&core_key(co.pid))
                    .s(rel_code(kind))
                    .date(since, "-")
                    .end();
                g.out.rows[f::CORE_RELATIONSHIPS] += 1;
            }
            g.truth_rel(person.pid, co.pid, kind);
        }
        for &e in &co.employees {
            g.truth_rel(people[e].pid, co.pid, "payroll_employee");
        }
        for &s in &co.suppliers {
            g.truth_rel(companies[s].pid, co.pid, "supplier");
        }
    }
    g.household_relationships(&people);
    out
}

fn rel_code(kind: &str) -> &'static str {
    match kind {
        "spouse" => "01",
        "parent" => "02",
        "child" => "03",
        "legal_representative" => "11",
        "executive" => "12",
        "shareholder" => "13",
        "finance_contact" => "14",
        _ => "15",
    }
}

/// The core system's customer number of a party.
pub fn core_key(pid: u64) -> String {
    key("", pid, 7_919_345_677, 1_000_000_007)
}

fn core_dup_key(pid: u64) -> String {
    key("", pid + 5_000_000_000, 7_919_345_677, 1_000_000_007)
}

fn card_key(pid: u64) -> String {
    key("K", pid, 3_141_592_653, 271_828_183)
}

fn loan_key(pid: u64) -> String {
    key("LB", pid, 2_718_281_829, 314_159_265)
}

fn wealth_key(pid: u64) -> String {
    key("W", pid, 1_618_033_989, 141_421_356)
}

fn echannel_key(pid: u64) -> String {
    key("U", pid, 1_414_213_563, 173_205_080)
}

struct Gen<'a> {
    world: &'a World,
    rng: Pcg64Mcg,
    out: &'a mut ChunkOut,
    txn_seq: u64,
    chunk: u64,
    core_accounts: Vec<Option<String>>,
}

/// A current-account posting before its balance is known: time, amount
/// (minor units), credit?, channel code, merchant category, counterparty
/// (account, name).
type Event = (
    NaiveDateTime,
    i64,
    bool,
    &'static str,
    Option<&'static str>,
    Option<(String, String)>,
);

/// What an account does over the window, month by month.
#[derive(Clone, Copy)]
enum Shape {
    Current,
    Term,
    Wealth,
    Loan { months: u32 },
    Card,
}

impl Gen<'_> {
    fn row(&mut self, file: usize) -> Row<'_> {
        self.out.rows[file] += 1;
        Row::new(&mut self.out.bufs[file])
    }

    fn truth_record(&mut self, system: &str, key: &str, pid: u64) {
        self.row(f::TRUTH_RECORDS)
            .s(system)
            .s(key)
            .i(pid as i64)
            .end();
    }

    fn truth_rel(&mut self, from: u64, to: u64, kind: &str) {
        self.row(f::TRUTH_RELATIONSHIPS)
            .i(from as i64)
            .i(to as i64)
            .s(kind)
            .end();
    }

    fn window_start(&self) -> NaiveDate {
        let a = self.world.as_of;
        NaiveDate::from_ymd_opt(a.year(), a.month(), 1)
            .unwrap_or(a)
            .checked_sub_months(Months::new(23))
            .unwrap_or(a)
    }

    fn date_in_month(&mut self, m: usize) -> NaiveDate {
        let first = month_start(self.window_start(), m);
        let next = first.checked_add_months(Months::new(1)).unwrap_or(first);
        let days = (next - first).num_days().max(1);
        let d = first + Duration::days(self.rng.random_range(0..days));
        d.min(self.world.as_of)
    }

    fn time_in(&mut self, d: NaiveDate) -> NaiveDateTime {
        let secs = self.rng.random_range(7 * 3600..23 * 3600);
        d.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::seconds(secs)
    }

    fn txn_ref(&mut self, prefix: &str) -> String {
        self.txn_seq += 1;
        format!("{prefix}{:06}{:09}", self.chunk, self.txn_seq)
    }

    /// The staff number the source records as an account's seller (营销人员),
    /// drawn from the account number (not the generator's random stream, so
    /// the rest of the bank is as before): the two RMs of its branch
    /// (`BRANCH-01`, `-02`), its teller (`-91`), a staff number no user has
    /// (`-99`, someone who left), or none (self-service).
    fn seller(&self, branch: &str, account: &str) -> String {
        let h = account.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let code = match h % 20 {
            0..=7 => "01",
            8..=13 => "02",
            14..=16 => "91",
            17 => "99",
            _ => return String::new(),
        };
        if branch.is_empty() {
            return String::new();
        }
        format!("{branch}-{code}")
    }

    fn account_no(&self, pid: u64, k: u64, bin: &str, digits: usize) -> String {
        // A bijection mod 10^digits: the multiplier ends in 3, so it is coprime to 10.
        let space = 10u128.pow(digits as u32);
        let v = (u128::from(pid * 16 + k) * 7_777_777_777_777_777_773) % space;
        format!("{bin}{v:0digits$}")
    }

    /// Monthly balances of one account; returns the month-end balances (minor units).
    #[allow(clippy::too_many_arguments)]
    fn balances(
        &mut self,
        file: usize,
        acct: &str,
        shape: Shape,
        level: f64,
        opened: NaiveDate,
        closed: Option<NaiveDate>,
        decline: Option<(usize, usize)>,
        fen: bool,
    ) -> Vec<i64> {
        let ws = self.window_start();
        let mut ends = vec![0; 24];
        for (m, end_slot) in ends.iter_mut().enumerate() {
            let first = month_start(ws, m);
            let last =
                first.checked_add_months(Months::new(1)).unwrap_or(first) - Duration::days(1);
            if opened > last || closed.is_some_and(|c| c < first) || first > self.world.as_of {
                continue;
            }
            let elapsed = ((first - opened).num_days().max(0) as f64) / 30.4;
            let base = match shape {
                Shape::Current => level * self.rng.random_range(0.8..1.2),
                Shape::Term => level,
                Shape::Wealth => {
                    level * (1.0 + 0.003 * elapsed) * self.rng.random_range(0.99..1.01)
                }
                Shape::Loan { months } => level * (1.0 - elapsed / f64::from(months)).max(0.02),
                Shape::Card => level * self.rng.random_range(0.3..1.5),
            };
            let factor = match decline {
                Some((from, to)) if m >= from => {
                    if m >= to {
                        0.02
                    } else {
                        1.0 - 0.9 * ((m - from + 1) as f64 / (to - from + 1) as f64)
                    }
                }
                _ => 1.0,
            };
            let avg = (base * factor * 100.0).round() as i64;
            let end = if closed.is_some_and(|c| c <= last) {
                0
            } else {
                (avg as f64 * self.rng.random_range(0.9..1.1)) as i64
            };
            *end_slot = end;
            let mut row = self.row(file);
            row.s(acct);
            if fen {
                row.month(first, "").i(avg).i(end);
            } else {
                row.month(first, "-").yuan(avg).yuan(end);
            }
            row.end();
        }
        ends
    }

    fn company_records(&mut self, k: usize, co: &Company) {
        let key = core_key(co.pid);
        let branch = self.world.branches[co.branch].0.clone();
        let address = co.address.full();
        self.row(f::CORE_CUSTOMERS)
            .s(&key)
            .s("2")
            .s(&co.name)
            .s("")
            .s("")
            .s("51")
            .s("")
            .s(&co.credit_code)
            .s("")
            .s(&format!("0571-8{:07}", co.pid % 10_000_000))
            .s("")
            .s(&address)
            .s("")
            .s(co.industry)
            .s("")
            .s(&branch)
            .date(co.since, "-")
            .end();
        self.truth_record("core", &key, co.pid);
        self.row(f::TRUTH_PARTIES)
            .i(co.pid as i64)
            .s("organisation")
            .s(&co.name)
            .s("")
            .s(&co.credit_code)
            .s("")
            .s("")
            .s("")
            .end();
        let acct = self.account_no(co.pid, 0, "3301", 15);
        let sold_by = self.seller(&branch, &acct);
        self.row(f::CORE_ACCOUNTS)
            .s(&acct)
            .s(&key)
            .s("D200")
            .s(&branch)
            .s("CNY")
            .date(co.since, "-")
            .s("")
            .s("")
            .s("A")
            .i(20)
            .s(&sold_by)
            .end();
        self.balances(
            f::CORE_BALANCES,
            &acct,
            Shape::Current,
            co.balance,
            co.since,
            None,
            None,
            false,
        );
        self.core_accounts[k] = Some(acct);
        if co.has_loan {
            let lkey = loan_key(co.pid);
            let name = if self.rng.random_bool(0.5) {
                co.short_name.clone()
            } else {
                co.name.clone()
            };
            let uscc = if self.rng.random_bool(0.95) {
                co.credit_code.clone()
            } else {
                String::new()
            };
            self.row(f::LOAN_CUSTOMERS)
                .s(&lkey)
                .s("C")
                .s(&name)
                .s("")
                .s("")
                .s("")
                .s(&uscc)
                .s("")
                .s(&co.address.full())
                .s(co.industry)
                .s(&branch)
                .date(co.since, "/")
                .end();
            self.truth_record("loan", &lkey, co.pid);
            let contract = self.account_no(co.pid, 1, "LN", 12);
            let start = self.world.as_of - Duration::days(self.rng.random_range(10..360));
            let end = start.checked_add_months(Months::new(12)).unwrap_or(start);
            let principal = (co.balance * self.rng.random_range(0.5..3.0) * 100.0) as i64;
            let sold_by = self.seller(&branch, &contract);
            self.row(f::LOAN_ACCOUNTS)
                .s(&contract)
                .s(&lkey)
                .s("L004")
                .s(&branch)
                .yuan(principal)
                .date(start, "/")
                .date(end, "/")
                .s("")
                .s("NORMAL")
                .i(380)
                .s(&sold_by)
                .end();
            self.balances(
                f::LOAN_BALANCES,
                &contract,
                Shape::Loan { months: 12 },
                principal as f64 / 100.0,
                start,
                None,
                None,
                false,
            );
        }
    }

    /// Supplier payments between companies and payroll debits.
    fn company_flows(&mut self, k: usize, co: &Company, all: &[Company]) {
        let Some(acct) = self.core_accounts[k].clone() else {
            return;
        };
        for m in 0..24 {
            for &s in &co.suppliers {
                let Some(to) = self.core_accounts[s].clone() else {
                    continue;
                };
                let d = self.date_in_month(m);
                let t = self.time_in(d);
                let amount = (co.balance * self.rng.random_range(0.05..0.3) * 100.0) as i64;
                let r1 = self.txn_ref("T");
                self.row(f::CORE_TXNS)
                    .s(&r1)
                    .s(&acct)
                    .datetime(t, false)
                    .yuan(amount)
                    .s("D")
                    .s("04")
                    .s("")
                    .s(&to)
                    .s(&all[s].name)
                    .s("")
                    .end();
                let r2 = self.txn_ref("T");
                self.row(f::CORE_TXNS)
                    .s(&r2)
                    .s(&to)
                    .datetime(t, false)
                    .yuan(amount)
                    .s("C")
                    .s("04")
                    .s("")
                    .s(&acct)
                    .s(&co.name)
                    .s("")
                    .end();
            }
        }
    }

    fn person_records(&mut self, p: &Person, companies: &[Company]) {
        let as_of_year = self.world.as_of.year();
        let branch = self.world.branches[p.branch].0.clone();
        let gender_code = |g: panorama_domain::Gender, male: &'static str, female: &'static str| {
            if g == panorama_domain::Gender::Male {
                male
            } else {
                female
            }
        };
        self.row(f::TRUTH_PARTIES)
            .i(p.pid as i64)
            .s("person")
            .s(&p.name())
            .s(&p.id18)
            .s("")
            .s(&p.mobile)
            .date(p.birth, "-")
            .s(&p.household.map(|h| h.0.to_string()).unwrap_or_default())
            .end();
        if let Some((hid, role)) = p.household {
            self.row(f::TRUTH_HOUSEHOLDS)
                .i(hid as i64)
                .i(p.pid as i64)
                .s(role.as_str())
                .end();
        }
        let ws = self.window_start();
        let churn_date = p.churn_month.map(|m| self.date_in_month(m));
        let decline = p
            .churn_month
            .map(|m| (m.saturating_sub(self.rng.random_range(3..6)), m));
        let card_date = p.card_month.map(|m| self.date_in_month(m));
        self.row(f::TRUTH_PROPENSITY)
            .i(p.pid as i64)
            .s(&format!("{:.4}", p.p_card))
            .opt_date(card_date, "-")
            .s(&format!("{:.4}", p.p_churn))
            .opt_date(churn_date, "-")
            .s(&format!("{:.4}", p.p_wealth))
            .end();

        if p.systems & sys::CORE != 0 {
            let copies = if self.rng.random_bool(0.03) { 2 } else { 1 };
            for copy in 0..copies {
                let key = if copy == 0 {
                    core_key(p.pid)
                } else {
                    core_dup_key(p.pid)
                };
                let v = view(&mut self.rng, p, &CORE_NOISE, as_of_year);
                let opened = if copy == 0 {
                    p.since
                } else {
                    p.since + Duration::days(self.rng.random_range(30..900))
                }
                .min(self.world.as_of);
                let mobile = if copy == 1 && self.rng.random_bool(0.4) {
                    p.old_mobile.clone()
                } else {
                    v.mobile.clone()
                };
                self.row(f::CORE_CUSTOMERS)
                    .s(&key)
                    .s("1")
                    .s(&v.name)
                    .s(gender_code(p.gender, "1", "2"))
                    .date(p.birth, "-")
                    .s(if v.id.is_some() { "01" } else { "" })
                    .opt(v.id.as_deref())
                    .s("")
                    .s(&mobile)
                    .s("")
                    .opt(p.email.as_deref())
                    .s(&v.address)
                    .s("")
                    .s("")
                    .s(p.occupation)
                    .s(&branch)
                    .date(opened, "-")
                    .end();
                self.truth_record("core", &key, p.pid);
                if copy == 0 {
                    self.core_person_accounts(p, &key, &branch, churn_date, decline, companies);
                }
            }
        }
        if p.systems & sys::CARD != 0 {
            let key = card_key(p.pid);
            let v = view(&mut self.rng, p, &CARD_NOISE, as_of_year);
            let apply = card_date.unwrap_or_else(|| {
                (ws - Duration::days(self.rng.random_range(30..2000))).max(p.since)
            });
            let apply = open_before(apply, p.since, churn_date);
            self.row(f::CARD_CUSTOMERS)
                .s(&key)
                .s(&v.name)
                .s(gender_code(p.gender, "M", "F"))
                .date(p.birth, "")
                .opt(v.id.as_deref())
                .s(&v.mobile)
                .opt(p.email.as_deref())
                .s(&v.address)
                .date(apply, "")
                .end();
            self.truth_record("card", &key, p.pid);
            self.card_account(p, &key, apply, churn_date);
        }
        if p.systems & sys::LOAN != 0 {
            let key = loan_key(p.pid);
            let v = view(&mut self.rng, p, &LOAN_NOISE, as_of_year);
            let first =
                (self.world.as_of - Duration::days(self.rng.random_range(30..3000))).max(p.since);
            self.row(f::LOAN_CUSTOMERS)
                .s(&key)
                .s("P")
                .s(&v.name)
                .s(gender_code(p.gender, "男", "女"))
                .date(p.birth, "/")
                .opt(v.id.as_deref())
                .s("")
                .s(&v.mobile)
                .s(&v.address)
                .s("")
                .s(&branch)
                .date(first, "/")
                .end();
            self.truth_record("loan", &key, p.pid);
            self.loan_accounts(p, &key, &branch, first);
        }
        if p.systems & sys::WEALTH != 0 {
            let key = wealth_key(p.pid);
            let v = view(&mut self.rng, p, &WEALTH_NOISE, as_of_year);
            let opened =
                (self.world.as_of - Duration::days(self.rng.random_range(30..2500))).max(p.since);
            let email = if self.rng.random_bool(0.7) {
                p.email.as_deref().unwrap_or("")
            } else {
                ""
            };
            self.row(f::WEALTH_CUSTOMERS)
                .s(&key)
                .s(&v.name)
                .s(gender_code(p.gender, "M", "F"))
                .date(p.birth, "-")
                .opt(v.id.as_deref())
                .s(&v.mobile)
                .s(email)
                .s(&v.address)
                .date(opened, "-")
                .end();
            self.truth_record("wealth", &key, p.pid);
            self.wealth_accounts(p, &key, opened, churn_date, decline);
        }
        if p.systems & sys::ECHANNEL != 0 {
            let key = echannel_key(p.pid);
            let v = view(&mut self.rng, p, &ECHANNEL_NOISE, as_of_year);
            let reg =
                (self.world.as_of - Duration::days(self.rng.random_range(1..2500))).max(p.since);
            let t = self.time_in(reg);
            self.row(f::ECHANNEL_CUSTOMERS)
                .s(&key)
                .s(&v.name)
                .s(&v.mobile)
                .opt(v.id.as_deref())
                .datetime(t, false)
                .end();
            self.truth_record("echannel", &key, p.pid);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn core_person_accounts(
        &mut self,
        p: &Person,
        key: &str,
        branch: &str,
        churn: Option<NaiveDate>,
        decline: Option<(usize, usize)>,
        companies: &[Company],
    ) {
        let status = |closed: Option<NaiveDate>| if closed.is_some() { "C" } else { "A" };
        // The current account: salary in, spending out, by channel.
        let acct = self.account_no(p.pid, 0, "621785", 13);
        let current_level = p.wealth * 0.3 + 500.0;
        let sold_by = self.seller(branch, &acct);
        self.row(f::CORE_ACCOUNTS)
            .s(&acct)
            .s(key)
            .s("D001")
            .s(branch)
            .s("CNY")
            .date(p.since, "-")
            .s("")
            .opt_date(churn, "-")
            .s(status(churn))
            .i(10)
            .s(&sold_by)
            .end();
        let ends = self.balances(
            f::CORE_BALANCES,
            &acct,
            Shape::Current,
            current_level,
            p.since,
            churn,
            decline,
            false,
        );
        self.current_account_txns(p, &acct, &ends, churn, decline, companies);
        // Term deposits sized by wealth; some mature within days of the extract.
        let n_terms = ((p.wealth / 60_000.0).sqrt() + self.rng.random_range(-0.6..0.6))
            .round()
            .clamp(0.0, 3.0) as u64;
        for k in 0..n_terms {
            let code = *["D003", "D006", "D012", "D012", "D024", "D036", "D100"]
                .choose(&mut self.rng)
                .unwrap_or(&"D012");
            let code = if code == "D100" && p.wealth < 300_000.0 {
                "D036"
            } else {
                code
            };
            let Some(prod) = product(code) else { continue };
            let term = prod.term_months.unwrap_or(12);
            let days = i64::from(term) * 30;
            let opened = (self.world.as_of - Duration::days(self.rng.random_range(1..days.max(2))))
                .max(p.since);
            let opened = open_before(opened, p.since, churn);
            let matures = opened
                .checked_add_months(Months::new(term))
                .unwrap_or(opened);
            let principal = (p.wealth * 0.5 / n_terms as f64).max(1_000.0).round();
            let no = self.account_no(p.pid, 1 + k, "621785", 13);
            let sold_by = self.seller(branch, &no);
            self.row(f::CORE_ACCOUNTS)
                .s(&no)
                .s(key)
                .s(code)
                .s(branch)
                .s("CNY")
                .date(opened, "-")
                .date(matures, "-")
                .opt_date(churn, "-")
                .s(status(churn))
                .i(i64::from(prod.rate_bp.unwrap_or(0)))
                .s(&sold_by)
                .end();
            self.balances(
                f::CORE_BALANCES,
                &no,
                Shape::Term,
                principal,
                opened,
                churn,
                None,
                false,
            );
        }
    }

    fn current_account_txns(
        &mut self,
        p: &Person,
        acct: &str,
        ends: &[i64],
        churn: Option<NaiveDate>,
        decline: Option<(usize, usize)>,
        companies: &[Company],
    ) {
        let ws = self.window_start();
        let rates = [
            p.atm_rate,
            p.pos_rate,
            p.mobile_rate,
            p.mobile_rate * 0.2,
            p.counter_rate,
        ];
        let mut events: Vec<Event> = Vec::new();
        for m in 0..24 {
            let first = month_start(ws, m);
            if first
                < NaiveDate::from_ymd_opt(p.since.year(), p.since.month(), 1).unwrap_or(p.since)
            {
                continue;
            }
            if churn.is_some_and(|c| c < first) || first > self.world.as_of {
                continue;
            }
            events.clear();
            for (ch, &r) in rates.iter().enumerate() {
                if r <= 0.0 {
                    continue;
                }
                let count = Poisson::new(r.min(40.0))
                    .map(|d| d.sample(&mut self.rng) as u32)
                    .unwrap_or(0);
                for _ in 0..count {
                    let d = self.date_in_month(m);
                    let t = self.time_in(d);
                    let (amount, credit, channel, mcc) = match ch {
                        0 => (
                            i64::from(self.rng.random_range(1..30u32)) * 10_000,
                            false,
                            "02",
                            None,
                        ),
                        1 => {
                            let (mcc, lo, hi) =
                                *MCCS.choose(&mut self.rng).unwrap_or(&("5411", 20, 600));
                            (
                                i64::from(self.rng.random_range(lo * 100..hi * 100)),
                                false,
                                "05",
                                Some(mcc),
                            )
                        }
                        2 | 3 => {
                            let credit = self.rng.random_bool(0.35);
                            (
                                i64::from(self.rng.random_range(5_000..2_000_000u32)),
                                credit,
                                if ch == 2 { "03" } else { "04" },
                                None,
                            )
                        }
                        _ => (
                            i64::from(self.rng.random_range(50_000..5_000_000u32)),
                            self.rng.random_bool(0.5),
                            "01",
                            None,
                        ),
                    };
                    events.push((t, amount, credit, channel, mcc, None));
                }
            }
            if let Some((k, salary)) = p.employer {
                if let Some(from) = self.core_accounts[k].clone() {
                    let d = self.date_in_month(m).with_day(10).unwrap_or(first);
                    if d <= self.world.as_of {
                        let t = d.and_hms_opt(2, 0, 0).unwrap_or_default();
                        events.push((
                            t,
                            i64::from(salary) * 100,
                            true,
                            "06",
                            None,
                            Some((from, companies[k].name.clone())),
                        ));
                    }
                }
            }
            if let Some((from, to)) = decline {
                if (from..=to).contains(&m) {
                    // Moving money to another bank before leaving.
                    let d = self.date_in_month(m);
                    let t = self.time_in(d);
                    let amount = (p.wealth * 0.15 * 100.0) as i64 + 100_000;
                    let other = format!(
                        "6228{:015}",
                        p.pid.wrapping_mul(97_531) % 1_000_000_000_000_000
                    );
                    events.push((t, amount, false, "03", None, Some((other, p.name()))));
                }
            }
            if let Some(c) = churn {
                events.retain(|e| e.0.date() <= c);
            }
            events.sort_by_key(|e| e.0);
            let mut balance = if m > 0 { ends[m - 1] } else { ends[m] };
            let events_now = std::mem::take(&mut events);
            for (t, amount, credit, channel, mcc, opp) in &events_now {
                balance += if *credit { *amount } else { -*amount };
                balance = balance.max(0);
                let r = self.txn_ref("T");
                let (opp_acct, opp_name) = opp
                    .as_ref()
                    .map_or(("", ""), |(a, n)| (a.as_str(), n.as_str()));
                self.row(f::CORE_TXNS)
                    .s(&r)
                    .s(acct)
                    .datetime(*t, false)
                    .yuan(*amount)
                    .s(if *credit { "C" } else { "D" })
                    .s(channel)
                    .opt(*mcc)
                    .s(opp_acct)
                    .s(opp_name)
                    .yuan(balance)
                    .end();
            }
            events = events_now;
        }
    }

    fn card_account(&mut self, p: &Person, key: &str, issued: NaiveDate, churn: Option<NaiveDate>) {
        let card = luhn(&self.account_no(p.pid, 8, "625888", 9));
        let (code, limit) = if p.wealth > 400_000.0 {
            ("C003", 10_000_000)
        } else if p.wealth > 80_000.0 {
            ("C002", 3_000_000)
        } else {
            ("C001", 1_000_000)
        };
        self.row(f::CARD_ACCOUNTS)
            .s(&card)
            .s(key)
            .s(code)
            .i(limit)
            .date(issued, "")
            .opt_date(churn, "")
            .s(if churn.is_some() { "CLOSED" } else { "ACTIVE" })
            .end();
        let spend = (p.pos_rate * 300.0 + 200.0).min(limit as f64 / 100.0);
        self.balances(
            f::CARD_BALANCES,
            &card,
            Shape::Card,
            spend,
            issued,
            churn,
            None,
            true,
        );
        let ws = self.window_start();
        for m in 0..24 {
            let first = month_start(ws, m);
            let last = first.checked_add_months(Months::new(1)).unwrap_or(first);
            if last <= issued || churn.is_some_and(|c| c < first) || first > self.world.as_of {
                continue;
            }
            let count = Poisson::new(p.pos_rate * 0.8 + 0.3)
                .map(|d| d.sample(&mut self.rng) as u32)
                .unwrap_or(0);
            for _ in 0..count {
                let d = self.date_in_month(m).max(issued);
                let t = self.time_in(d);
                let (mcc, lo, hi) = *MCCS.choose(&mut self.rng).unwrap_or(&("5411", 20, 600));
                let online = self.rng.random_bool(0.35);
                let r = self.txn_ref("A");
                let amount = i64::from(self.rng.random_range(lo * 100..hi * 100));
                self.row(f::CARD_TXNS)
                    .s(&r)
                    .s(&card)
                    .datetime(t, true)
                    .i(amount)
                    .s("DEBIT")
                    .s(if online { "ONLINE" } else { "POS" })
                    .s(mcc)
                    .s(if online {
                        "网上商户"
                    } else {
                        "特约商户"
                    })
                    .end();
            }
        }
    }

    fn loan_accounts(&mut self, p: &Person, key: &str, branch: &str, first: NaiveDate) {
        let mortgage = self.rng.random_bool(0.4);
        let (code, months, principal) = if mortgage {
            ("L001", 240u32, lognormal(&mut self.rng, 900_000.0, 0.5))
        } else if p.occupation == "个体工商户" {
            ("L003", 36, lognormal(&mut self.rng, 200_000.0, 0.6))
        } else {
            ("L002", 36, lognormal(&mut self.rng, 60_000.0, 0.6))
        };
        let start = first;
        let end = start
            .checked_add_months(Months::new(months))
            .unwrap_or(start);
        let settled = (end <= self.world.as_of).then_some(end);
        let contract = self.account_no(p.pid, 9, "LN", 12);
        let principal_minor = (principal * 100.0) as i64;
        let sold_by = self.seller(branch, &contract);
        self.row(f::LOAN_ACCOUNTS)
            .s(&contract)
            .s(key)
            .s(code)
            .s(branch)
            .yuan(principal_minor)
            .date(start, "/")
            .date(end, "/")
            .opt_date(settled, "/")
            .s(if settled.is_some() {
                "SETTLED"
            } else {
                "NORMAL"
            })
            .i(i64::from(
                product(code).and_then(|p| p.rate_bp).unwrap_or(400),
            ))
            .s(&sold_by)
            .end();
        self.balances(
            f::LOAN_BALANCES,
            &contract,
            Shape::Loan { months },
            principal,
            start,
            settled,
            None,
            false,
        );
    }

    fn wealth_accounts(
        &mut self,
        p: &Person,
        key: &str,
        opened: NaiveDate,
        churn: Option<NaiveDate>,
        decline: Option<(usize, usize)>,
    ) {
        let n = 1 + (p.wealth / 200_000.0).min(2.0) as u64;
        let wealth_products: Vec<&str> = PRODUCTS
            .iter()
            .filter(|q| q.system == "wealth")
            .map(|q| q.code)
            .collect();
        for k in 0..n {
            let code = wealth_products
                .choose(&mut self.rng)
                .copied()
                .unwrap_or("W002");
            let term = product(code).and_then(|q| q.term_months);
            let buy =
                (opened + Duration::days(self.rng.random_range(0..400))).min(self.world.as_of);
            let buy = open_before(buy, p.since, churn);
            let matures = term.and_then(|t| buy.checked_add_months(Months::new(t)));
            let redeemed = match (matures, churn) {
                (Some(m), _) if m <= self.world.as_of => Some(m),
                (_, Some(c)) => Some(c),
                _ => None,
            };
            let no = self.account_no(p.pid, 10 + k, "WM", 12);
            self.row(f::WEALTH_ACCOUNTS)
                .s(&no)
                .s(key)
                .s(code)
                .date(buy, "-")
                .opt_date(matures, "-")
                .opt_date(redeemed, "-")
                .s(if redeemed.is_some() {
                    "REDEEMED"
                } else {
                    "HOLDING"
                })
                .end();
            let amount = (p.wealth * 0.4 / n as f64).max(10_000.0);
            self.balances(
                f::WEALTH_BALANCES,
                &no,
                Shape::Wealth,
                amount,
                buy,
                redeemed,
                decline,
                false,
            );
        }
    }

    fn household_relationships(&mut self, people: &[Person]) {
        let mut i = 0;
        while i < people.len() {
            let Some((hid, HouseholdRole::Head)) = people[i].household else {
                i += 1;
                continue;
            };
            let head = &people[i];
            let declared = self.rng.random_bool(0.5);
            let mut j = i + 1;
            while j < people.len() && people[j].household.is_some_and(|h| h.0 == hid) {
                let member = &people[j];
                let kind = match member.household.map(|h| h.1) {
                    Some(HouseholdRole::Spouse) => "spouse",
                    Some(HouseholdRole::Child) => "child",
                    _ => "parent",
                };
                self.truth_rel(member.pid, head.pid, kind);
                if declared && head.systems & member.systems & sys::CORE != 0 {
                    let since = head.since.max(member.since);
                    self.row(f::CORE_RELATIONSHIPS)
                        .s(&core_key(member.pid))
                        .s(&core_key(head.pid))
                        .s(rel_code(kind))
                        .date(since, "-")
                        .end();
                }
                j += 1;
            }
            i = j;
        }
    }
}
