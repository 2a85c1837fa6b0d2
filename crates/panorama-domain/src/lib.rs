//! Domain types of Panorama, with no I/O.
//!
//! Every type here is built only through a parser that returns a typed error
//! ("parse, don't validate"): a [`ResidentId`] always has a valid GB 11643
//! check digit, a [`Money`] is always integer minor units, and so on. Storage,
//! ingest and the web layer take these types instead of re-checking strings.

pub mod credit_code;
pub mod date;
pub mod division;
pub mod forecast;
pub mod incentive;
pub mod mobile;
pub mod money;
pub mod ownership;
pub mod period;
pub mod pinyin;
pub mod resident_id;
pub mod role;
pub mod sales_credit;
pub mod scorecard;
pub mod text;
pub mod value;

pub use credit_code::{CreditCode, CreditCodeError};
pub use date::{DateError, months_between, parse_date};
pub use division::{Division, area_name, lookup_area};
pub use mobile::{Mobile, MobileError};
pub use money::{Money, MoneyError};
pub use resident_id::{Gender, ResidentId, ResidentIdError};
pub use text::normalize_text;
