//! Starting data. Deterministic: a fixed RNG seed, so every run has the same leads
//! (ids included); only timestamps come from the real clock.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom as _;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};

use super::clock::{Millis, now_ms};
use super::schema::{ObjectKind, Record};
use super::world::{Actor, World};

/// What the emulator holds when it starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Seed {
    #[default]
    Empty,
    /// 47 realistic leads, created one by one (distinct `updatedAt`s). Exactly one has
    /// `phones.primaryPhoneNumber` [`DEMO_PHONE`] (+1, US).
    DemoLeads,
    /// `n` leads created in one batch: they all share one `updatedAt`, like a dev seed.
    Generated(usize),
    /// `count` leads like [`Seed::Generated`], last edited in the past: in id order, their
    /// `createdAt` = `updatedAt` are evenly spread from `age + span` ago (the first) to
    /// `age` ago (the last), so they also sort by `updatedAt` in id order. A delta sync
    /// run now, after a full one, finds nothing new but the newest one (its lookback).
    /// `span` zero: they all share one `updatedAt`, `age` ago.
    Backdated {
        count: usize,
        age: Duration,
        span: Duration,
    },
}

pub const DEMO_LEAD_COUNT: usize = 47;
/// The number the captures used; exactly one demo lead has it.
pub const DEMO_PHONE: &str = "8563057016";
const DEMO_PHONE_INDEX: usize = 12;

const COMPANIES: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Wonka",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Aperture",
    "Pied Piper",
    "Massive Dynamic",
    "Oscorp",
    "Dunder Mifflin",
    "Gringotts",
    "Monarch",
    "Nakatomi",
    "Prestige",
    "Sterling Cooper",
    "Blue Sun",
    "Virtucon",
    "Zorg",
];
const SUFFIXES: &[&str] = &[
    "Industries",
    "Labs",
    "Logistics",
    "Foods",
    "Partners",
    "Systems",
    "Holdings",
    "Analytics",
    "Robotics",
    "Media",
];
const CONTACTS: &[&str] = &[
    "ana", "ben", "chloe", "dev", "eli", "fatima", "gus", "hana", "ivan", "jo", "kofi", "lena",
];
const SOURCES: &[&str] = &[
    "web",
    "referral",
    "trade show",
    "cold call",
    "partner",
    "linkedin",
    "",
];
const STATUSES: &[&str] = &["NEW", "NEW", "NEW", "QUALIFIED", "QUALIFIED", "LOST"];
/// (country, calling code, national number length)
const COUNTRIES: &[(&str, &str, usize)] = &[
    ("US", "+1", 10),
    ("US", "+1", 10),
    ("GB", "+44", 10),
    ("DE", "+49", 11),
];
const CURRENCIES: &[&str] = &["USD", "USD", "EUR", "GBP"];

pub(crate) fn build(seed: &Seed) -> World {
    let mut world = World::default();
    match seed {
        Seed::Empty => {}
        Seed::DemoLeads => {
            for lead in demo_leads() {
                // Fixed input, checked by the tests below: cannot fail.
                let _ = world.create(ObjectKind::Lead, &[lead], Actor::Api, false);
            }
        }
        Seed::Generated(n) => {
            let leads: Vec<Record> = (0..*n).map(generated_lead).collect();
            let _ = world.create(ObjectKind::Lead, &leads, Actor::Api, false);
        }
        Seed::Backdated { count, age, span } => {
            let leads: Vec<Record> = (0..*count).map(generated_lead).collect();
            // In chunks: one create checks its batch for repeated ids pairwise. The
            // timestamps are set below, so the chunks' own ticks do not matter.
            for chunk in leads.chunks(1_000) {
                let _ = world.create(ObjectKind::Lead, chunk, Actor::Api, false);
            }
            let newest = now_ms() - millis(*age);
            let span = millis(*span);
            let steps = i64::try_from(count.saturating_sub(1).max(1)).unwrap_or(i64::MAX);
            world.backdate(ObjectKind::Lead, |i| {
                let i = i64::try_from(i).unwrap_or(i64::MAX);
                newest - span + span.saturating_mul(i) / steps
            });
        }
    }
    world
}

fn millis(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn demo_leads() -> Vec<Record> {
    let mut rng = StdRng::seed_from_u64(0x7457_656e_7479);
    let mut names: Vec<String> = COMPANIES
        .iter()
        .flat_map(|c| SUFFIXES.iter().map(move |s| format!("{c} {s}")))
        .collect();
    rand::seq::SliceRandom::shuffle(names.as_mut_slice(), &mut rng);
    names
        .into_iter()
        .take(DEMO_LEAD_COUNT)
        .enumerate()
        .map(|(i, name)| demo_lead(&mut rng, i, &name))
        .collect()
}

fn demo_lead(rng: &mut StdRng, index: usize, name: &str) -> Record {
    let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
    let domain: String = name
        .split_whitespace()
        .next()
        .unwrap_or("example")
        .to_lowercase();
    let contact = CONTACTS.choose(rng).copied().unwrap_or("info");
    let (country, calling_code, number) = if index == DEMO_PHONE_INDEX {
        ("US", "+1", DEMO_PHONE.to_string())
    } else {
        let (country, code, len) = *COUNTRIES.choose(rng).unwrap_or(&COUNTRIES[0]);
        (country, code, phone_number(rng, len))
    };
    let score: Value = if rng.random_bool(0.8) {
        json!(rng.random_range(0..=100))
    } else {
        Value::Null
    };
    let budget = if rng.random_bool(0.4) {
        json!({
            "amountMicros": rng.random_range(5..=500) * 1_000_000_000i64,
            "currencyCode": CURRENCIES.choose(rng).copied().unwrap_or("USD"),
        })
    } else {
        json!({"amountMicros": null, "currencyCode": ""})
    };
    let additional_emails = if rng.random_bool(0.2) {
        json!([format!("sales@{domain}.com")])
    } else {
        json!([])
    };
    object(json!({
        "id": id.to_string(),
        "name": name,
        "email": {"primaryEmail": format!("{contact}@{domain}.com"), "additionalEmails": additional_emails},
        "status": STATUSES.choose(rng).copied().unwrap_or("NEW"),
        "score": score,
        "source": SOURCES.choose(rng).copied().unwrap_or(""),
        "phones": {
            "primaryPhoneNumber": number,
            "primaryPhoneCountryCode": country,
            "primaryPhoneCallingCode": calling_code,
            "additionalPhones": [],
        },
        "budget": budget,
    }))
}

/// A national number that can never be the demo number (it starts 2..=7).
fn phone_number(rng: &mut StdRng, len: usize) -> String {
    let mut digits = rng.random_range(2..=7).to_string();
    while digits.len() < len {
        digits.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    digits
}

fn generated_lead(i: usize) -> Record {
    object(json!({
        "name": format!("Generated lead {i:05}"),
        "email": {"primaryEmail": format!("lead{i:05}@example.com")},
        "status": STATUSES[i % STATUSES.len()],
        "score": i % 101,
        "source": "generated",
        "phones": {
            "primaryPhoneNumber": format!("555{i:07}"),
            "primaryPhoneCountryCode": "US",
            "primaryPhoneCallingCode": "+1",
        },
    }))
}

/// The `index`-th generated record of `kind`, id included: the same in every run.
pub(crate) fn generated(kind: ObjectKind, index: usize) -> Record {
    let mut record = match kind {
        ObjectKind::Lead => generated_lead(index),
        ObjectKind::Person => generated_person(index),
        ObjectKind::Company => generated_company(index),
        ObjectKind::Opportunity => generated_opportunity(index),
        ObjectKind::Note => object(json!({"title": format!("Generated note {index:05}")})),
        ObjectKind::NoteTarget => Record::new(),
    };
    let salt = kind
        .plural()
        .bytes()
        .fold(0u64, |h, b| h.rotate_left(8) ^ u64::from(b));
    let index = u64::try_from(index).unwrap_or(u64::MAX);
    let mut rng = StdRng::seed_from_u64(salt ^ index.rotate_left(32));
    let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
    record.insert("id".into(), id.to_string().into());
    record
}

const FIRST_NAMES: &[&str] = &[
    "Ana", "Ben", "Chloe", "Dev", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kofi", "Lena",
];
const LAST_NAMES: &[&str] = &[
    "Okafor", "Schmidt", "Tanaka", "Rossi", "Nguyen", "Silva", "Kowalski", "Haddad", "Moreau",
];
const JOB_TITLES: &[&str] = &["CEO", "CTO", "Head of Sales", "Buyer", "Engineer", ""];
const CITIES: &[(&str, &str)] = &[
    ("San Francisco", "United States"),
    ("London", "United Kingdom"),
    ("Berlin", "Germany"),
    ("Paris", "France"),
];
const STAGES: &[&str] = &["NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER"];

fn generated_person(i: usize) -> Record {
    let first = FIRST_NAMES[i % FIRST_NAMES.len()];
    let last = LAST_NAMES[(i / FIRST_NAMES.len()) % LAST_NAMES.len()];
    let handle = format!("{first}.{last}{i}").to_lowercase();
    object(json!({
        "name": {"firstName": first, "lastName": last},
        "emails": {"primaryEmail": format!("{handle}@example.com")},
        "linkedinLink": {"primaryLinkUrl": format!("https://www.linkedin.com/in/{handle}")},
        "jobTitle": JOB_TITLES[i % JOB_TITLES.len()],
        "phones": {
            "primaryPhoneNumber": format!("556{i:07}"),
            "primaryPhoneCountryCode": "US",
            "primaryPhoneCallingCode": "+1",
        },
    }))
}

fn generated_company(i: usize) -> Record {
    let name = COMPANIES[i % COMPANIES.len()];
    let suffix = SUFFIXES[(i / COMPANIES.len()) % SUFFIXES.len()];
    let slug = name.to_lowercase().replace(' ', "");
    let (city, country) = CITIES[i % CITIES.len()];
    object(json!({
        "name": format!("{name} {suffix} {i}"),
        "domainName": {"primaryLinkUrl": format!("https://{slug}{i}.example.com")},
        "address": {"addressCity": city, "addressCountry": country},
        "annualRevenue": {"amountMicros": (i % 50 + 1) as i64 * 100_000_000_000, "currencyCode": "USD"},
    }))
}

fn generated_opportunity(i: usize) -> Record {
    object(json!({
        "name": format!("Generated deal {i:05}"),
        "amount": {"amountMicros": (i % 20 + 1) as i64 * 1_000_000_000, "currencyCode": "USD"},
        "stage": STAGES[i % STAGES.len()],
    }))
}

fn object(value: Value) -> Record {
    match value {
        Value::Object(map) => map,
        _ => Record::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_seed_is_deterministic_with_one_demo_phone() {
        let a = build(&Seed::DemoLeads);
        let b = build(&Seed::DemoLeads);
        let ids = |w: &World| -> Vec<Value> {
            w.rows(ObjectKind::Lead).map(|r| r["id"].clone()).collect()
        };
        assert_eq!(ids(&a).len(), DEMO_LEAD_COUNT);
        assert_eq!(ids(&a), ids(&b));
        let with_phone: Vec<&Record> = a
            .rows(ObjectKind::Lead)
            .filter(|r| r["phones"]["primaryPhoneNumber"] == DEMO_PHONE)
            .collect();
        assert_eq!(with_phone.len(), 1);
        assert_eq!(with_phone[0]["phones"]["primaryPhoneCallingCode"], "+1");
        assert_eq!(with_phone[0]["phones"]["primaryPhoneCountryCode"], "US");
        let names: std::collections::HashSet<&Value> =
            a.rows(ObjectKind::Lead).map(|r| &r["name"]).collect();
        assert_eq!(names.len(), DEMO_LEAD_COUNT);
    }

    #[test]
    fn backdated_seed_spreads_updated_at_in_id_order_into_the_past() {
        let hour = Duration::from_secs(3600);
        let world = build(&Seed::Backdated {
            count: 5,
            age: hour,
            span: 4 * hour,
        });
        let rows: Vec<&Record> = world.rows(ObjectKind::Lead).collect();
        assert_eq!(rows.len(), 5);
        let stamps: Vec<Millis> = rows
            .iter()
            .map(|r| super::super::clock::parse_instant(r["updatedAt"].as_str().unwrap()).unwrap())
            .collect();
        assert!(
            stamps.windows(2).all(|w| w[1] - w[0] == 3_600_000),
            "{stamps:?}"
        );
        let age = now_ms() - stamps[4];
        assert!(
            (3_600_000..3_660_000).contains(&age),
            "newest is {age} ms old"
        );
        assert!(rows.iter().all(|r| r["createdAt"] == r["updatedAt"]));
    }

    #[test]
    fn generated_seed_shares_one_updated_at() {
        let world = build(&Seed::Generated(25));
        let stamps: std::collections::HashSet<&Value> = world
            .rows(ObjectKind::Lead)
            .map(|r| &r["updatedAt"])
            .collect();
        assert_eq!(world.rows(ObjectKind::Lead).count(), 25);
        assert_eq!(stamps.len(), 1);
    }
}
