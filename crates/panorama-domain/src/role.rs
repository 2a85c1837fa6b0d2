//! The roles of the workbench's users, as stored (`rm`, `branch_manager`, …).
//! What each may do is the web's permission table; which customers each may
//! see is `panorama-ocrm`'s data scope.

use serde::{Deserialize, Serialize};

/// A role of the workbench.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages users; sees no customer data.
    Admin,
    /// Marketing analyst: aggregates and pseudonymised lists.
    Analyst,
    /// Branch manager: the customers of their org subtree.
    BranchManager,
    /// Relationship manager: the customers assigned to them.
    Rm,
    /// Data steward: the whole bank, masked, may unmask with a reason.
    Steward,
    /// Auditor: the audit trail; customers masked.
    Auditor,
    /// Executive: the whole bank, masked.
    Executive,
    /// Call-centre agent: the whole bank, masked, for identifying callers.
    Agent,
    /// Teller (柜员): serves walk-in customers of any branch, masked, and
    /// registers the sales made at the counter.
    Teller,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 9] = [
        Role::Admin,
        Role::Analyst,
        Role::BranchManager,
        Role::Rm,
        Role::Steward,
        Role::Auditor,
        Role::Executive,
        Role::Agent,
        Role::Teller,
    ];

    /// The role of a stored role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The stored role name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::BranchManager => "branch_manager",
            Role::Rm => "rm",
            Role::Steward => "steward",
            Role::Auditor => "auditor",
            Role::Executive => "executive",
            Role::Agent => "agent",
            Role::Teller => "teller",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_reads_back_from_its_stored_name() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("cashier"), None);
    }
}
