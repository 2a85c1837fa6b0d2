//! Febrl-style person records (the generator behind the Febrl files and many
//! public entity-resolution benchmarks): originals drawn from skewed name,
//! street and suburb frequencies, then 0–9 corrupted duplicates each, every
//! duplicate with one to three modifications — keyboard typos, phonetic
//! spellings, a blanked field, swapped given name and surname, day and month
//! of birth swapped, a mistyped postcode or social security number.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::{Files, Written, typo, zipf};

const GIVEN: &str = "jack oliver william noah thomas james lucas henry leo charlie ethan liam alexander harrison \
mason isaac max lachlan cooper samuel hudson archie hunter levi oscar logan louis jacob harry xavier joshua \
benjamin riley daniel sebastian luca ryan elijah aiden nathan patrick jasper austin tyler connor zachary luke \
caleb dylan bailey blake flynn kai hamish angus edward george michael david peter john robert mark andrew \
olivia charlotte ava amelia mia isla grace chloe sophie emily ruby zoe matilda lily evie ella sienna harper \
ivy willow audrey hannah lucy sarah jessica emma georgia madison isabella abigail scarlett stella violet \
alice eleanor annabelle jasmine layla phoebe savannah imogen claire rebecca rachel laura kate helen mary \
margaret susan jennifer elizabeth patricia linda barbara karen nicole michelle kimberly melissa amanda \
stephanie tahlia kiara bree courtney jade tayla brooke holly caitlin shannon teagan";

const SURNAMES: &str = "smith jones williams brown wilson taylor johnson white martin anderson thompson nguyen \
thomas walker harris lee ryan robinson kelly king davis wright evans roberts green hall wood jackson clarke \
patel khan lewis james phillips mitchell turner campbell edwards morris allen young scott hill cook baker \
murphy moore stewart morgan bell ward clark cooper parker collins watson hughes price bennett gray adams \
richardson reid graham ross marshall harrison chapman kennedy ellis grant mason hunt black fraser russell \
cameron mcdonald murray hamilton sullivan o'brien doyle brennan kavanagh rossi ferrari russo bianchi \
papadopoulos georgiou kowalski novak muller schmidt schneider fischer weber becker tran pham le hoang \
chen wang li zhang liu singh sharma kumar gupta reddy ahmed ali hassan hussain ibrahim rahman silva santos \
pereira costa oliveira fernandes gomez lopez garcia martinez rodriguez hernandez perez sanchez ramirez \
torres flores rivera sondergeld harrington waller berry giblin maltby goldfinch tullaroop whitelaw \
dunstan lockyer mcpherson o'connor fitzgerald lachlan beaumont crawford sinclair macleod galloway \
kirkpatrick pemberton ashworth blackwood hollingsworth winterbottom abernethy";

const STREETS: &str = "wylly tullaroop giblin goldfinch maltby macrossan jondaryan florey kitchener \
monaro hawker bonython namatjira lambrigg hilder kambah mugga ainslie limestone northbourne \
canberra glebe currong torrens bunda akuna alinga marcus clarke mort lonsdale ballumbir \
petrie chinner cornish gillespie fairbairn duffy burley griffin macarthur wakefield coranderrk \
carnegie melrose mcmillan brennan casey bradman menzies hampton darling murray barkly sturt \
mitchell oxley kennedy eyre leichhardt flinders baudin tasman cook phillip macquarie bligh \
hunter king gipps bourke fitzroy denison young darwin parkes barton deakin watson fisher";

const STREET_TYPES: &[(&str, u32)] = &[
    ("street", 40),
    ("place", 12),
    ("crescent", 10),
    ("circuit", 8),
    ("avenue", 8),
    ("road", 8),
    ("close", 5),
    ("court", 4),
    ("drive", 3),
    ("parade", 2),
];

const BUILDINGS: &str = "willaroo killarney kooltuo coaling rosetta brentwood wattle grove hillview \
sunnyside riverside parkview lakeside seaview harbourside fairview glenview woodlands \
meadowbank oakleigh belmont ashgrove kingsley marlborough huntingdale westbourne \
rosedale clifton stonehaven bellevue montrose greenhill bayside";

const SUBURBS: &str = "canterbury coolaroo bittern st_james kingston belconnen woden tuggeranong \
gungahlin braddon turner reid ainslie dickson lyneham o'connor hackett watson downer \
kambah wanniassa fadden gowrie monash calwell isabella bonython richardson chisholm \
gilmore theodore banks conder gordon macgregor holt higgins page scullin hawker weetangera \
aranda cook macquarie jamison weston rivett duffy holder waramanga fisher chapman \
stirling torrens farrer garran hughes curtin lyons phillip mawson pearce parramatta \
blacktown penrith liverpool bankstown hurstville kogarah randwick bondi manly mosman \
chatswood hornsby ryde epping carlton fitzroy richmond brunswick footscray preston \
northcote coburg dandenong frankston geelong ballarat bendigo toowoomba ipswich logan \
redcliffe caboolture townsville cairns mackay rockhampton bundaberg fremantle joondalup \
rockingham mandurah bunbury geraldton albany elizabeth salisbury glenelg unley norwood \
launceston devonport burnie hobart glenorchy darwin palmerston katherine";

const STATES: &[(&str, u32)] = &[
    ("nsw", 32),
    ("vic", 26),
    ("qld", 20),
    ("wa", 10),
    ("sa", 7),
    ("tas", 2),
    ("act", 2),
    ("nt", 1),
];

/// Phonetic respellings a clerk or an OCR pass produces.
const PHONETIC: &[(&str, &str)] = &[
    ("ph", "f"),
    ("f", "ph"),
    ("c", "k"),
    ("k", "c"),
    ("ie", "y"),
    ("y", "ie"),
    ("ll", "l"),
    ("tt", "t"),
    ("ss", "s"),
    ("ck", "k"),
    ("ou", "ow"),
    ("ei", "ie"),
    ("z", "s"),
    ("mc", "mac"),
    ("son", "sen"),
    ("ee", "ea"),
];

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(|w| w.replace('_', " ")).collect()
}

#[derive(Clone)]
struct Person {
    given: String,
    surname: String,
    number: String,
    address_1: String,
    address_2: String,
    suburb: String,
    postcode: String,
    state: String,
    dob: String,
    ssn: String,
}

impl Person {
    fn values(&self) -> [&str; 10] {
        [
            &self.given,
            &self.surname,
            &self.number,
            &self.address_1,
            &self.address_2,
            &self.suburb,
            &self.postcode,
            &self.state,
            &self.dob,
            &self.ssn,
        ]
    }
    fn field(&mut self, f: usize) -> &mut String {
        match f {
            0 => &mut self.given,
            1 => &mut self.surname,
            2 => &mut self.number,
            3 => &mut self.address_1,
            4 => &mut self.address_2,
            5 => &mut self.suburb,
            6 => &mut self.postcode,
            7 => &mut self.state,
            8 => &mut self.dob,
            _ => &mut self.ssn,
        }
    }
}

struct Vocab {
    given: Vec<String>,
    surnames: Vec<String>,
    streets: Vec<String>,
    buildings: Vec<String>,
    suburbs: Vec<String>,
}

fn original(rng: &mut Pcg64Mcg, v: &Vocab) -> Person {
    let pick = |rng: &mut Pcg64Mcg, list: &[String], s: f64| list[zipf(rng, list.len(), s)].clone();
    // A tail of rarer names made from two known ones, as real lists have.
    let surname = if rng.random_bool(0.25) {
        let a = pick(rng, &v.surnames, 0.6);
        let b = pick(rng, &v.surnames, 0.6);
        format!(
            "{}{}",
            &a[..a.len().min(4)],
            &b[b.len().saturating_sub(3)..]
        )
    } else {
        pick(rng, &v.surnames, 0.9)
    };
    let suburb_ix = zipf(rng, v.suburbs.len(), 0.7);
    let state = super::weighted(rng, STATES).to_string();
    let year = rng.random_range(1920..2008);
    let (month, day) = (rng.random_range(1..=12), rng.random_range(1..=28));
    let number = if rng.random_bool(0.7) {
        rng.random_range(1..120)
    } else {
        rng.random_range(1..1000)
    };
    let street_type = super::weighted(rng, STREET_TYPES);
    Person {
        given: pick(rng, &v.given, 1.0),
        surname,
        number: number.to_string(),
        address_1: format!("{} {street_type}", pick(rng, &v.streets, 0.5)),
        address_2: if rng.random_bool(0.45) {
            pick(rng, &v.buildings, 0.5)
        } else {
            String::new()
        },
        suburb: v.suburbs[suburb_ix].clone(),
        postcode: format!("{}", 2000 + (suburb_ix * 37) % 7000),
        state,
        dob: if rng.random_bool(0.97) {
            format!("{year:04}{month:02}{day:02}")
        } else {
            String::new()
        },
        ssn: format!("{:07}", rng.random_range(1_000_000..9_999_999)),
    }
}

fn corrupt(rng: &mut Pcg64Mcg, p: &mut Person) {
    let modifications = 1 + zipf(rng, 3, 1.0);
    for _ in 0..modifications {
        // Which field: names and address parts most often, as in Febrl's settings.
        let f = *super::weighted(
            rng,
            &[
                (0usize, 20),
                (1, 20),
                (2, 6),
                (3, 10),
                (4, 6),
                (5, 10),
                (6, 8),
                (7, 3),
                (8, 10),
                (9, 7),
            ],
        );
        let kind = rng.random_range(0..100);
        if kind < 12 {
            p.field(f).clear();
            continue;
        }
        match f {
            0 | 1 if kind < 20 => std::mem::swap(&mut p.given, &mut p.surname),
            0 | 1 | 3 | 5 if kind < 45 => {
                let value = p.field(f);
                let candidates: Vec<&(&str, &str)> =
                    PHONETIC.iter().filter(|(a, _)| value.contains(a)).collect();
                if let Some((a, b)) = candidates.get(rng.random_range(0..candidates.len().max(1))) {
                    *value = value.replacen(a, b, 1);
                } else {
                    *value = typo(rng, value);
                }
            }
            8 if kind < 50 && p.dob.len() == 8 => {
                // Day and month swapped (only when the result is a date too).
                let (y, m, d) = (&p.dob[..4], &p.dob[4..6], &p.dob[6..8]);
                if d <= "12" {
                    p.dob = format!("{y}{d}{m}");
                } else {
                    p.dob = typo(rng, &p.dob.clone());
                }
            }
            2 if kind < 40 => {
                let n: u32 = p.number.parse().unwrap_or(1);
                p.number = (n + rng.random_range(1..3)).to_string();
            }
            _ => {
                let value = p.field(f);
                *value = typo(rng, value);
            }
        }
    }
}

/// Writes `records` Febrl-style records into `dir`.
pub fn generate(dir: &Path, records: usize, seed: u64) -> std::io::Result<Written> {
    let vocab = Vocab {
        given: words(GIVEN),
        surnames: words(SURNAMES),
        streets: words(STREETS),
        buildings: words(BUILDINGS),
        suburbs: words(SUBURBS),
    };
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0xFEB1);
    let mut files = Files::create(
        dir,
        &[
            "rec_id",
            "given_name",
            "surname",
            "street_number",
            "address_1",
            "address_2",
            "suburb",
            "postcode",
            "state",
            "date_of_birth",
            "soc_sec_id",
        ],
    )?;
    let mut written = 0;
    let mut entity = 0usize;
    while written < records {
        let person = original(&mut rng, &vocab);
        // Half the originals have duplicates; their number falls off like 1/k.
        let dups = if rng.random_bool(0.5) {
            1 + zipf(&mut rng, 9, 1.2)
        } else {
            0
        };
        let dups = dups.min(records - written - 1);
        files.entity();
        let label = format!("e{entity}");
        let id = format!("rec-{entity}-org");
        let mut row = vec![id.as_str()];
        row.extend(person.values());
        files.row(&label, &row)?;
        for k in 0..dups {
            let mut dup = person.clone();
            corrupt(&mut rng, &mut dup);
            let id = format!("rec-{entity}-dup-{k}");
            let mut row = vec![id.as_str()];
            row.extend(dup.values());
            files.row(&label, &row)?;
        }
        written += 1 + dups;
        entity += 1;
    }
    files.finish()
}
