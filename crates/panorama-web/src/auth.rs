//! Users, roles, what each role may do and see, and password checks.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum_login::{AuthUser, AuthnBackend, UserId};
use panorama_store::Store;
use panorama_store::ocrm::{self, Scope, UserRow};
use serde::{Deserialize, Serialize};

use crate::error::WebError;

pub use panorama_domain::role::Role;

/// Declares [`Permission`] and, in [`perm`], one marker type per
/// permission for the `Require<P>` extractor: one list, so a permission and
/// its marker cannot drift apart.
macro_rules! permissions {
    ($( $(#[$doc:meta])* $name:ident, )*) => {
        /// Something a role may do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Permission {
            $( $(#[$doc])* $name, )*
        }

        /// Each [`Permission`] as a type, for `Require<P>`.
        pub mod perm {
            $(
                $(#[$doc])*
                pub struct $name;
                impl super::Perm for $name {
                    const P: super::Permission = super::Permission::$name;
                }
            )*
        }
    };
}

/// A permission as a type (see [`perm`]).
pub trait Perm {
    /// The permission.
    const P: Permission;
}

permissions! {
/// Open customer lists, search and the 360° view.
ViewCustomers,
/// See names and identifiers unmasked after stating a reason.
Unmask,
/// Record contacts and work tasks.
RecordContact,
/// Search the audit trail.
ViewAudit,
/// Manage users.
ManageUsers,
/// Read the server's request counters (`/metrics`).
ViewMetrics,
/// Work the identity review queue, undo merges, read data quality.
ResolveIdentities,
/// Read model evaluations and campaign results.
ViewAnalytics,
/// Read the opportunity pipeline (an RM's own, a branch manager's
/// subtree's, the whole bank's for executives).
ViewPipeline,
/// Assign customers to the RMs of one's org units, reclaim them.
AssignCustomers,
/// Record and work complaints of customers in scope.
HandleComplaints,
/// Read satisfaction results (an RM: their own).
ViewServiceReports,
/// Set targets for one's org units and split them down; read progress.
ManageTargets,
/// Read the management dashboards of one's org units, export them.
ViewDashboards,
/// Refer customers related to one's own to their RMs, and work the
/// referrals received.
Refer,
/// Design campaigns, launch and finish them, export their members.
DesignCampaigns,
/// Approve a campaign someone else designed.
ApproveCampaigns,
/// Register sales, see one's credited sales, dispute a credit.
RegisterSales,
/// Approve sales entered by hand, settle disputes, adjust credits (of
/// one's org units).
ApproveSales,
/// Read one's scorecard (and, for managers, their org units' people's).
ViewAppraisal,
/// Confirm the scorecards of one's org units' people.
ConfirmAppraisal,
/// Set the scorecards, the sales-credit split rules and the incentive
/// rules (head office).
SetRules,}

/// Whether `role` may do `p`: the permission table.
pub fn allows(role: Role, p: Permission) -> bool {
    use Permission::*;
    use Role::*;
    match p {
        ViewCustomers => !matches!(role, Admin),
        Unmask => matches!(role, Rm | BranchManager | Steward),
        RecordContact => matches!(role, Rm | BranchManager | Agent | Teller),
        ViewAudit => matches!(role, Auditor),
        ManageUsers | ViewMetrics => matches!(role, Admin),
        ResolveIdentities => matches!(role, Steward),
        ViewAnalytics => matches!(role, Analyst | Executive | BranchManager),
        ViewPipeline => matches!(role, Rm | BranchManager | Executive),
        AssignCustomers => matches!(role, BranchManager),
        HandleComplaints => matches!(role, Rm | BranchManager | Agent),
        ViewServiceReports => matches!(role, Rm | BranchManager | Executive),
        ManageTargets => matches!(role, BranchManager | Executive),
        ViewDashboards => matches!(role, BranchManager | Executive),
        Refer => matches!(role, Rm | BranchManager),
        DesignCampaigns => matches!(role, Analyst),
        ApproveCampaigns => matches!(role, BranchManager | Executive),
        RegisterSales => matches!(role, Rm | BranchManager | Agent | Teller),
        ApproveSales => matches!(role, BranchManager),
        ViewAppraisal => matches!(role, Rm | Teller | Agent | BranchManager | Executive),
        ConfirmAppraisal => matches!(role, BranchManager),
        SetRules => matches!(role, Executive),
    }
}

/// A logged-in user.
#[derive(Clone, Serialize, Deserialize)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Name shown.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Org unit code.
    pub org_code: String,
    /// Org unit name.
    pub org_name: String,
    /// Materialised path of the org unit.
    pub org_path: String,
    /// A digest of the password hash, kept in the session to end every
    /// session when the password changes (the hash itself never goes into
    /// session data).
    #[serde(skip)]
    session_key: Vec<u8>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl User {
    fn from_row(row: UserRow) -> Option<User> {
        Some(User {
            id: row.id,
            role: Role::parse(&row.role)?,
            username: row.username,
            display_name: row.display_name,
            org_code: row.org_code,
            org_name: row.org_name,
            org_path: row.org_path,
            session_key: {
                use sha2::Digest as _;
                sha2::Sha256::digest(row.password_hash?.as_bytes()).to_vec()
            },
        })
    }

    /// The customers this user may see, applied in every customer query.
    pub fn scope(&self) -> Scope {
        panorama_ocrm::scope_of(self.role, self.id, &self.org_path)
    }

    /// Whether the user may do `p`.
    pub fn can(&self, p: Permission) -> bool {
        allows(self.role, p)
    }
}

impl AuthUser for User {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.session_key
    }
}

/// Login name and password.
#[derive(Clone, Deserialize)]
pub struct Credentials {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Users from the store, passwords checked with argon2.
#[derive(Clone)]
pub struct Backend {
    store: Store,
}

impl Backend {
    /// A backend over `store`.
    pub fn new(store: Store) -> Backend {
        Backend { store }
    }
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = WebError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, WebError> {
        let row = ocrm::user_by_username(&self.store, &creds.username).await?;
        let row = row.filter(|r| r.active == 1);
        let hash = row.as_ref().and_then(|r| r.password_hash.clone());
        let Some((user, hash)) = row.and_then(User::from_row).zip(hash) else {
            // Spend the same time as a real check so a missing user is not
            // told apart by timing.
            let _ =
                tokio::task::spawn_blocking(move || verify_password(&creds.password, &DUMMY_HASH))
                    .await;
            return Ok(None);
        };
        let ok = tokio::task::spawn_blocking(move || verify_password(&creds.password, &hash))
            .await
            .map_err(|e| WebError::Internal(e.to_string()))?;
        Ok(ok.then_some(user))
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, WebError> {
        Ok(ocrm::user_by_id(&self.store, *id)
            .await?
            .filter(|r| r.active == 1)
            .and_then(User::from_row))
    }
}

/// A hash of a random password, checked when the user does not exist.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&random_password(24)).unwrap_or_default());

/// An argon2id PHC string for `password`, with a random salt.
pub fn hash_password(password: &str) -> Result<String, WebError> {
    let mut bytes = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| WebError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| WebError::Internal(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random password of `len` characters from an alphabet without
/// look-alikes (no 0/O, 1/l/I).
pub fn random_password(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rand::Rng::random_range(&mut rng, 0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("s3cret-pass").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("s3cret-pass", &h));
        assert!(!verify_password("s3cret-pasS", &h));
        assert!(!verify_password("anything", "not a hash"));
        assert!(PasswordHash::new(&DUMMY_HASH).is_ok());
    }

    #[test]
    fn roles_round_trip_and_permissions_follow_the_matrix() {
        for r in ocrm_roles() {
            let role = Role::parse(r).unwrap_or(Role::Admin);
            assert_eq!(role.as_str(), *r);
        }
        assert!(!allows(Role::Admin, Permission::ViewCustomers));
        assert!(allows(Role::Rm, Permission::Unmask));
        assert!(!allows(Role::Analyst, Permission::Unmask));
        assert!(allows(Role::Auditor, Permission::ViewAudit));
        assert!(!allows(Role::Rm, Permission::ViewAudit));
    }

    fn ocrm_roles() -> &'static [&'static str] {
        panorama_store::ocrm::ROLES
    }

    #[test]
    fn random_passwords_avoid_look_alikes() {
        let p = random_password(40);
        assert_eq!(p.len(), 40);
        assert!(!p.contains(['0', 'O', '1', 'l', 'I']));
    }
}
