//! Parties of the synthetic bank — people in households, companies with their
//! executives and payroll — and the hidden traits that drive their behaviour.

use chrono::{Datelike, Months, NaiveDate};
use panorama_domain::division::Division;
use panorama_domain::resident_id::check_char;
use panorama_domain::{CreditCode, Gender};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_pcg::Pcg64Mcg;

use crate::data::{
    BRANDS, ESTATES, FEMALE_CHARS, INDUSTRIES, MALE_CHARS, MOBILE_PREFIXES, OCCUPATIONS, ROADS,
    SURNAMES,
};

/// Which systems a party appears in (bit flags).
pub mod sys {
    /// Core deposits.
    pub const CORE: u8 = 1;
    /// Credit cards.
    pub const CARD: u8 = 2;
    /// Loans.
    pub const LOAN: u8 = 4;
    /// Wealth management.
    pub const WEALTH: u8 = 8;
    /// E-channel (mobile banking).
    pub const ECHANNEL: u8 = 16;
}

/// A residential or registered address, in parts so systems can abbreviate it.
#[derive(Debug, Clone)]
pub struct Address {
    /// District with its city and province.
    pub division: &'static Division,
    /// Road name including 路/街.
    pub road: String,
    /// House number.
    pub number: u32,
    /// Estate name.
    pub estate: &'static str,
    /// Building, unit, room.
    pub building: u32,
    /// Unit.
    pub unit: u32,
    /// Room.
    pub room: u32,
}

impl Address {
    /// The full form: 浙江省杭州市西湖区文三路12号翠苑3幢2单元501室.
    pub fn full(&self) -> String {
        format!(
            "{}{}",
            self.division.full_prefix(),
            self.street_part(false, true)
        )
    }

    /// After the district: road, number, estate, building, unit and room.
    pub fn street_part(&self, dong: bool, with_unit: bool) -> String {
        let b = if dong { "栋" } else { "幢" };
        if with_unit {
            format!(
                "{}{}号{}{}{}{}单元{}室",
                self.road, self.number, self.estate, self.building, b, self.unit, self.room
            )
        } else {
            format!(
                "{}{}号{}{}{}{}室",
                self.road, self.number, self.estate, self.building, b, self.room
            )
        }
    }
}

/// Role in a household.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HouseholdRole {
    /// Head of household.
    Head,
    /// Spouse of the head.
    Spouse,
    /// Adult child of the head.
    Child,
    /// Parent of the head.
    Parent,
}

impl HouseholdRole {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            HouseholdRole::Head => "head",
            HouseholdRole::Spouse => "spouse",
            HouseholdRole::Child => "child",
            HouseholdRole::Parent => "parent",
        }
    }
}

/// A person and their hidden traits.
#[derive(Debug, Clone)]
pub struct Person {
    /// Global party id (the truth's key).
    pub pid: u64,
    /// Surname.
    pub surname: &'static str,
    /// Given name.
    pub given: String,
    /// Gender.
    pub gender: Gender,
    /// Date of birth.
    pub birth: NaiveDate,
    /// The true 18-character resident id.
    pub id18: String,
    /// Current mobile.
    pub mobile: String,
    /// An earlier mobile some systems still hold.
    pub old_mobile: String,
    /// E-mail, if any.
    pub email: Option<String>,
    /// Home address.
    pub address: Address,
    /// Index of the home sub-branch.
    pub branch: usize,
    /// Occupation.
    pub occupation: &'static str,
    /// Customer since.
    pub since: NaiveDate,
    /// Target assets with the bank, in yuan.
    pub wealth: f64,
    /// ATM withdrawals a month.
    pub atm_rate: f64,
    /// Debit-card POS payments a month.
    pub pos_rate: f64,
    /// Mobile-banking transactions a month.
    pub mobile_rate: f64,
    /// Counter visits a month.
    pub counter_rate: f64,
    /// Systems the person appears in.
    pub systems: u8,
    /// Household id and role.
    pub household: Option<(u64, HouseholdRole)>,
    /// Holds a credit card from before the window.
    pub card_at_start: bool,
    /// Probability of taking up a card in the second year (hidden).
    pub p_card: f64,
    /// Month index (12..24) when the card was taken up.
    pub card_month: Option<usize>,
    /// Probability of leaving (hidden).
    pub p_churn: f64,
    /// Month index when the person left the bank.
    pub churn_month: Option<usize>,
    /// Probability of responding to a wealth-product offer (hidden).
    pub p_wealth: f64,
    /// Employer (index of a company in the chunk) and monthly salary in yuan.
    pub employer: Option<(usize, u32)>,
}

impl Person {
    /// Full name.
    pub fn name(&self) -> String {
        format!("{}{}", self.surname, self.given)
    }
}

/// A company customer.
#[derive(Debug, Clone)]
pub struct Company {
    /// Global party id.
    pub pid: u64,
    /// Registered name.
    pub name: String,
    /// Name without the city prefix, as some systems hold it.
    pub short_name: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Industry (GB/T 4754 section).
    pub industry: &'static str,
    /// Registered address.
    pub address: Address,
    /// Home sub-branch index.
    pub branch: usize,
    /// Customer since.
    pub since: NaiveDate,
    /// Typical balance in yuan.
    pub balance: f64,
    /// (person index in chunk, relationship kind).
    pub officers: Vec<(usize, &'static str)>,
    /// Payroll employees (person indexes in chunk).
    pub employees: Vec<usize>,
    /// Suppliers it pays (company indexes in chunk).
    pub suppliers: Vec<usize>,
    /// Has a working-capital loan.
    pub has_loan: bool,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Log-normal draw with the given median and log-standard deviation.
pub fn lognormal(rng: &mut Pcg64Mcg, median: f64, sigma: f64) -> f64 {
    // Box-Muller on two uniforms: reproducible for a seed, no extra dependency.
    let u1: f64 = rng.random_range(1e-12..1.0);
    let u2: f64 = rng.random();
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    median * (sigma * z).exp()
}

/// A gamma-ish rate with mean `mean` and a long tail (sum of exponentials scaled).
pub fn rate(rng: &mut Pcg64Mcg, mean: f64) -> f64 {
    let e: f64 = -rng.random_range(1e-12..1.0f64).ln();
    mean * e * e.sqrt() / 1.33
}

fn pick_surname(rng: &mut Pcg64Mcg) -> &'static str {
    let total: u32 = SURNAMES.iter().map(|s| s.1).sum();
    let mut x = rng.random_range(0..total);
    for (s, w) in SURNAMES {
        if x < *w {
            return s;
        }
        x -= w;
    }
    "王"
}

fn given_name(rng: &mut Pcg64Mcg, gender: Gender) -> String {
    let pool = if gender == Gender::Male {
        MALE_CHARS
    } else {
        FEMALE_CHARS
    };
    let first = pool.choose(rng).copied().unwrap_or("明");
    if rng.random_bool(0.7) {
        let second = pool.choose(rng).copied().unwrap_or("华");
        format!("{first}{second}")
    } else {
        first.to_owned()
    }
}

/// Everything a chunk's generator shares.
pub struct World {
    /// Extract date.
    pub as_of: NaiveDate,
    /// Sub-branches: (code, district).
    pub branches: Vec<(String, &'static Division)>,
    /// All divisions (for birthplaces).
    pub all_divisions: &'static [Division],
}

impl World {
    fn address(&self, rng: &mut Pcg64Mcg, branch: usize) -> Address {
        let road = ROADS.choose(rng).copied().unwrap_or("人民");
        let dir = ["", "", "东", "西", "南", "北", "中"]
            .choose(rng)
            .copied()
            .unwrap_or("");
        let kind = if rng.random_bool(0.8) { "路" } else { "街" };
        Address {
            division: self.branches[branch].1,
            road: format!("{road}{dir}{kind}"),
            number: rng.random_range(1..400),
            estate: ESTATES.choose(rng).copied().unwrap_or("新村"),
            building: rng.random_range(1..30),
            unit: rng.random_range(1..6),
            room: rng.random_range(1..30) * 100 + rng.random_range(1..5),
        }
    }

    fn birth_area(&self, rng: &mut Pcg64Mcg, home: &Division) -> String {
        if rng.random_bool(0.55) {
            // Born in the home city: any district or county of it.
            let prefix = &home.code[..4];
            let local: Vec<&Division> = self
                .all_divisions
                .iter()
                .filter(|d| d.code.starts_with(prefix))
                .collect();
            if let Some(d) = local.choose(rng) {
                return d.code.clone();
            }
        }
        self.all_divisions
            .choose(rng)
            .map_or_else(|| home.code.clone(), |d| d.code.clone())
    }

    fn mobile(rng: &mut Pcg64Mcg) -> String {
        let prefix = MOBILE_PREFIXES.choose(rng).copied().unwrap_or("138");
        format!("{prefix}{:08}", rng.random_range(0..100_000_000u32))
    }

    /// Creates one person; `seq_base` keeps resident ids distinct across chunks.
    #[allow(clippy::too_many_arguments)]
    pub fn person(
        &self,
        rng: &mut Pcg64Mcg,
        pid: u64,
        surname: &'static str,
        gender: Gender,
        birth: NaiveDate,
        branch: usize,
        address: Address,
        seq_base: u32,
    ) -> Person {
        let birth_area = self.birth_area(rng, address.division);
        let seq = (seq_base % 500) * 2 + u32::from(gender == Gender::Male);
        let body = format!("{birth_area}{}{seq:03}", birth.format("%Y%m%d"));
        let id18 = format!("{body}{}", check_char(body.as_bytes()));
        let age = self.as_of.year() - birth.year();
        let mobile = Self::mobile(rng);
        let email = rng.random_bool(0.45).then(|| match rng.random_range(0..3) {
            0 => format!("{}@qq.com", rng.random_range(10_000_000u64..3_000_000_000)),
            1 => format!("{mobile}@163.com"),
            _ => format!("u{}@139.com", &mobile[3..]),
        });
        let tenure_days = rng.random_range(30..(365 * (age - 17).clamp(1, 25)) as i64);
        let since = self.as_of - chrono::Duration::days(tenure_days);
        // Wealth grows with age until retirement; a heavy right tail.
        let age_factor = 0.4 + ((age as f64 - 18.0) / 35.0).clamp(0.0, 1.0);
        let wealth = lognormal(rng, 26_000.0 * age_factor, 1.45);
        let digital = sigmoid(2.5 - (age as f64 - 20.0) / 14.0);
        let atm_rate = rate(rng, 0.25 + 1.3 * (1.0 - digital));
        let pos_rate = rate(rng, 0.7);
        let mobile_rate = if rng.random_bool(digital) {
            rate(rng, 2.0)
        } else {
            0.0
        };
        let counter_rate = rate(rng, 0.03 + 0.3 * (1.0 - digital));
        let z_wealth = (wealth.max(1.0).log10() - 4.3) / 0.6;
        let p_wealth = sigmoid(
            -2.6 + 0.9 * z_wealth
                + if (35..=55).contains(&age) { 0.5 } else { 0.0 }
                + 0.6 * digital,
        );
        Person {
            pid,
            surname,
            given: given_name(rng, gender),
            gender,
            birth,
            id18,
            old_mobile: Self::mobile(rng),
            mobile,
            email,
            address,
            branch,
            occupation: if age >= 60 {
                "退休"
            } else {
                OCCUPATIONS.choose(rng).copied().unwrap_or("企业职员")
            },
            since,
            wealth,
            atm_rate,
            pos_rate,
            mobile_rate,
            counter_rate,
            systems: 0,
            household: None,
            card_at_start: false,
            p_card: 0.0,
            card_month: None,
            p_churn: 0.0,
            churn_month: None,
            p_wealth,
            employer: None,
        }
    }

    /// A birth date for an adult of about `age` years (±`spread`).
    pub fn birth_date(&self, rng: &mut Pcg64Mcg, age: i32, spread: i32) -> NaiveDate {
        let age = (age + rng.random_range(-spread..=spread)).clamp(18, 88);
        let year = self.as_of.year() - age;
        let day = rng.random_range(0..365);
        NaiveDate::from_yo_opt(year, 1).unwrap_or(self.as_of) + chrono::Duration::days(day)
    }

    /// Creates the people of one household (1–4 members sharing an address).
    pub fn household(
        &self,
        rng: &mut Pcg64Mcg,
        first_pid: u64,
        hid: u64,
        seq_base: u32,
        max: usize,
    ) -> Vec<Person> {
        let size = match rng.random_range(0..100) {
            0..40 => 1,
            40..72 => 2,
            72..92 => 3,
            _ => 4,
        }
        .min(max);
        let branch = rng.random_range(0..self.branches.len());
        let address = self.address(rng, branch);
        let head_gender = if rng.random_bool(0.55) {
            Gender::Male
        } else {
            Gender::Female
        };
        let head_age = rng.random_range(24..78);
        let surname = pick_surname(rng);
        let head_birth = self.birth_date(rng, head_age, 0);
        let mut members = vec![self.person(
            rng,
            first_pid,
            surname,
            head_gender,
            head_birth,
            branch,
            address.clone(),
            seq_base,
        )];
        for k in 1..size {
            let pid = first_pid + k as u64;
            let (role, person) = if k == 1 && head_age >= 24 {
                let g = if head_gender == Gender::Male {
                    Gender::Female
                } else {
                    Gender::Male
                };
                let b = self.birth_date(rng, head_age, 4);
                let spouse_surname = pick_surname(rng);
                (
                    HouseholdRole::Spouse,
                    self.person(
                        rng,
                        pid,
                        spouse_surname,
                        g,
                        b,
                        branch,
                        address.clone(),
                        seq_base,
                    ),
                )
            } else if head_age >= 46 && rng.random_bool(0.75) {
                let g = if rng.random_bool(0.5) {
                    Gender::Male
                } else {
                    Gender::Female
                };
                let b = self.birth_date(rng, head_age - 27, 3);
                (
                    HouseholdRole::Child,
                    self.person(rng, pid, surname, g, b, branch, address.clone(), seq_base),
                )
            } else {
                let g = if rng.random_bool(0.5) {
                    Gender::Male
                } else {
                    Gender::Female
                };
                let b = self.birth_date(rng, (head_age + 28).min(88), 3);
                (
                    HouseholdRole::Parent,
                    self.person(rng, pid, surname, g, b, branch, address.clone(), seq_base),
                )
            };
            let mut person = person;
            person.household = Some((hid, role));
            members.push(person);
        }
        if size > 1 {
            members[0].household = Some((hid, HouseholdRole::Head));
        }
        members
    }

    /// Creates a company.
    pub fn company(&self, rng: &mut Pcg64Mcg, pid: u64, seq: u32) -> Company {
        let branch = rng.random_range(0..self.branches.len());
        let address = self.address(rng, branch);
        let (industry, word) = INDUSTRIES
            .choose(rng)
            .copied()
            .unwrap_or(("F 批发和零售业", "贸易"));
        let brand = BRANDS.choose(rng).copied().unwrap_or("华信");
        let brand2 = BRANDS.choose(rng).copied().unwrap_or("恒达");
        let city = address.division.city.trim_end_matches('市');
        let form = if rng.random_bool(0.8) {
            "有限公司"
        } else {
            "股份有限公司"
        };
        let short_name = format!("{brand}{}{word}{form}", &brand2[..3]);
        let name = format!("{city}{short_name}");
        // Organisation code body: 8 characters, unique per company via `seq`.
        let body = format!("{:08}", (u64::from(seq) * 2_654_435_761) % 100_000_000);
        let first16 = format!("91{}{}", address.division.code, body);
        let mut credit_code = CreditCode::with_checksums(&first16)
            .map(|c| c.to_string())
            .unwrap_or(first16);
        if rng.random_bool(0.01) {
            // An early code that fails the checksum yet is legally valid.
            credit_code.pop();
            credit_code.push(if credit_code.ends_with('0') { '1' } else { '0' });
        }
        let since = self.as_of - chrono::Duration::days(rng.random_range(60..365 * 15));
        Company {
            pid,
            name,
            short_name,
            credit_code,
            industry,
            address,
            branch,
            since,
            balance: lognormal(rng, 600_000.0, 1.3),
            officers: Vec::new(),
            employees: Vec::new(),
            suppliers: Vec::new(),
            has_loan: rng.random_bool(0.35),
        }
    }
}

/// Decides the person's systems and hidden outcomes (card uptake, churn)
/// from traits observable in the first year.
pub fn decide_outcomes(rng: &mut Pcg64Mcg, p: &mut Person, as_of: NaiveDate) {
    let age = as_of.year() - p.birth.year();
    let mut systems = 0;
    if rng.random_bool(0.93) {
        systems |= sys::CORE;
    }
    p.card_at_start = rng.random_bool(if age < 65 { 0.30 } else { 0.08 });
    if rng.random_bool(if (25..60).contains(&age) { 0.16 } else { 0.04 }) {
        systems |= sys::LOAN;
    }
    if rng.random_bool((0.08 + p.wealth / 400_000.0).min(0.7)) {
        systems |= sys::WEALTH;
    }
    if p.mobile_rate > 0.0 && rng.random_bool(0.8) {
        systems |= sys::ECHANNEL;
    }
    if systems & (sys::CORE | sys::LOAN | sys::WEALTH) == 0 && !p.card_at_start {
        systems |= sys::CORE;
    }
    // Card uptake in year two: high balances and frequent ATM use raise it.
    let z_balance = (p.wealth.max(1.0).log10() - 4.3) / 0.6;
    p.p_card = sigmoid(
        -3.0 + 0.8 * z_balance + 0.45 * p.atm_rate.min(8.0) - 0.02 * (age as f64 - 40.0).abs(),
    );
    if !p.card_at_start && systems & sys::CORE != 0 && rng.random_bool(p.p_card) {
        p.card_month = Some(rng.random_range(12..24));
    }
    if p.card_at_start || p.card_month.is_some() {
        systems |= sys::CARD;
    }
    // Churn: short tenure, few products, young and low-balance customers leave more.
    let tenure_years = (as_of - p.since).num_days() as f64 / 365.0;
    let products = (systems.count_ones()) as f64;
    p.p_churn = sigmoid(
        -2.2 - 0.12 * tenure_years - 0.45 * (products - 1.0) + if age < 30 { 0.5 } else { 0.0 }
            - 0.25 * z_balance,
    );
    // Only customers of more than a year can be seen to leave inside the window.
    let tenured = (as_of - p.since).num_days() > 400;
    if tenured && systems & sys::CORE != 0 && p.card_month.is_none() && rng.random_bool(p.p_churn) {
        p.churn_month = Some(rng.random_range(15..24));
    }
    p.systems = systems;
}

/// First day of month `m` of the window.
pub fn month_start(window_start: NaiveDate, m: usize) -> NaiveDate {
    window_start
        .checked_add_months(Months::new(m as u32))
        .unwrap_or(window_start)
}
