//! OCRM rules over the store. The store persists what these rules decide
//! and holds none of them: who may approve a campaign or a model (never
//! the person who made it: four eyes), which categories, channels and
//! severities a complaint may have, how long its SLA runs, which step it
//! may take from which status, and when an overdue one is escalated; which
//! target indicators may be defined, which target an org unit sets itself
//! and what a split of it must be; which customers a role sees, who may
//! move customers between RMs, and the demo bank's users. The web app, the
//! CLI and the nightly job call these, not the store's writes.

pub mod appraisal;
pub mod approval;
pub mod complaints;
mod error;
pub mod forecast;
pub mod incentives;
pub mod sales;
pub mod targets;
pub mod users;

pub use error::OcrmError;
pub use users::scope_of;

/// The result of an OCRM use-case.
pub type Result<T> = std::result::Result<T, OcrmError>;
