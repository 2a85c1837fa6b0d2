//! The data scope of a user, applied inside every customer query: which
//! customers a relationship manager, a branch manager or head office sees.

use crate::bind::Bind;

/// Which customers a user may see, applied inside every customer query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole bank (admin, executive, analyst, steward, auditor, agent).
    All,
    /// Customers whose home branch is in this org subtree (a materialised path).
    Subtree(String),
    /// Customers assigned to this RM (an open assignment).
    Assigned(i64),
}

impl Scope {
    /// The SQL condition on customer alias `c`, binding its parameter (if
    /// any) as number `next`. Returns the condition and the bind.
    pub(crate) fn condition(&self, next: usize) -> (String, Option<Bind>) {
        match self {
            Scope::All => ("1 = 1".to_owned(), None),
            Scope::Subtree(path) => (
                format!(
                    "c.home_org_unit_id IN (SELECT o.id FROM org_unit o WHERE o.path LIKE ${next})"
                ),
                Some(Bind::Text(format!("{path}%"))),
            ),
            Scope::Assigned(user) => (
                format!(
                    "c.id IN (SELECT a.customer_id FROM assignment a WHERE a.rm_user_id = ${next} AND a.to_date IS NULL)"
                ),
                Some(Bind::Int(*user)),
            ),
        }
    }

    /// The customer condition (on `c`) with its bind numbered `next`.
    pub(crate) fn customer_condition(&self, next: usize) -> (String, Option<Bind>) {
        self.condition_for_one(next)
    }

    /// The condition on the owner of a piece of work (`o.owner_user_id`):
    /// an RM's own, a branch manager's subtree's users', everyone's.
    pub(crate) fn owner_condition(&self, next: usize) -> (String, Option<Bind>) {
        match self {
            Scope::All => ("1 = 1".to_owned(), None),
            Scope::Subtree(path) => (
                format!(
                    "o.owner_user_id IN (SELECT u.id FROM app_user u JOIN org_unit ou \
                     ON ou.id = u.org_unit_id WHERE ou.path LIKE ${next})"
                ),
                Some(Bind::Text(format!("{path}%"))),
            ),
            Scope::Assigned(user) => (format!("o.owner_user_id = ${next}"), Some(Bind::Int(*user))),
        }
    }

    /// The condition for a query about one known customer: an RM's scope as
    /// an index probe of the customer's assignment (the list form builds the
    /// RM's whole portfolio first: 8 ms for 12,000 customers).
    pub(crate) fn condition_for_one(&self, next: usize) -> (String, Option<Bind>) {
        match self {
            Scope::Assigned(user) => (
                format!(
                    "EXISTS (SELECT 1 FROM assignment a WHERE a.customer_id = c.id AND a.to_date IS NULL AND a.rm_user_id = ${next})"
                ),
                Some(Bind::Int(*user)),
            ),
            _ => self.condition(next),
        }
    }
}
