//! Guard rails: checks of a learned model and its result that stop a run,
//! with a report, before anything is written.

use serde::Serialize;

/// One check and its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Whether the run may go on.
    pub passed: bool,
    /// Figures behind the verdict.
    pub detail: String,
}

impl Check {
    /// A check with its verdict.
    pub fn new(name: &'static str, passed: bool, detail: String) -> Check {
        Check {
            name,
            passed,
            detail,
        }
    }
}

/// The failed checks as one message (empty when all passed).
pub fn failures(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect()
}
