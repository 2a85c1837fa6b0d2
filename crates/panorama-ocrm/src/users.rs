//! Users and their customers: which customers a role may see (the data scope
//! every query applies), moving customers between RMs (only a branch manager
//! within their org units, or an executive or administrator across the
//! bank), and the demo bank's users.

use panorama_domain::role::Role;
use panorama_store::Store;
use panorama_store::assign::{self, Transfer, TransferReport};
use panorama_store::ocrm::{self, NewUser, Scope};

use crate::{OcrmError, Result};

/// The customers a user of `role` (`user_id`, at org unit `org_path`) may
/// see: an RM those assigned to them, a branch manager their org units',
/// everyone else the whole bank.
pub fn scope_of(role: Role, user_id: i64, org_path: &str) -> Scope {
    match role {
        Role::Rm => Scope::Assigned(user_id),
        Role::BranchManager => Scope::Subtree(org_path.to_owned()),
        _ => Scope::All,
    }
}

/// Moves `customers` to the RM named `rm` (or back to the pool with `None`)
/// as the user named `by`, effective `on`: a branch manager within their
/// org units, an executive or an administrator across the bank. Customers
/// outside the mover's units are left as they were and listed.
pub async fn move_customers(
    store: &Store,
    customers: &[i64],
    rm: Option<&str>,
    by: &str,
    reason: &str,
    on: &str,
) -> Result<TransferReport> {
    let mover = ocrm::user_by_username(store, by)
        .await?
        .ok_or_else(|| OcrmError::NotFound(format!("no user {by}")))?;
    let Some(role @ (Role::BranchManager | Role::Executive | Role::Admin)) =
        Role::parse(&mover.role)
    else {
        return Err(OcrmError::Refused(format!(
            "{by} is a {}: only a branch manager or an executive moves customers",
            mover.role
        )));
    };
    let scope = scope_of(role, mover.id, &mover.org_path);
    let to_rm = match rm {
        Some(name) => Some(
            ocrm::user_by_username(store, name)
                .await?
                .ok_or_else(|| OcrmError::NotFound(format!("no user {name}")))?
                .id,
        ),
        None => None,
    };
    let t = Transfer {
        customers,
        to_rm,
        reason,
        actor: by,
        scope: &scope,
        on,
    };
    Ok(assign::transfer(store, &t).await?)
}

/// RMs the demo bank gives each sub-branch of its first branch.
pub const DEMO_RMS_PER_SUB_BRANCH: usize = 2;

/// The demo bank's users, as made.
#[derive(Debug, Clone, Default)]
pub struct DemoUsers {
    /// Username, role and org unit code of each user made.
    pub users: Vec<(String, Role, String)>,
    /// Customers assigned to the RMs of their home sub-branch.
    pub assigned: u64,
}

/// Creates the demo users — `admin`, two RMs per sub-branch of the first
/// branch (`rm1`…, the last of each serving its wealth tiers) and a teller
/// (`teller1`…), each with the staff number the extracts record, `bm1` over
/// that branch, `analyst1`, `steward1`, `auditor1`, `exec1`, `agent1` — all
/// with one `password_hash`, and assigns the branch's customers to its RMs
/// on `on`. Fails when no bank has been loaded.
pub async fn create_demo_users(store: &Store, password_hash: &str, on: &str) -> Result<DemoUsers> {
    let head = ocrm::head_office(store)
        .await?
        .ok_or_else(|| OcrmError::NotFound("no org units: ingest a bank first".into()))?;
    let branch = ocrm::first_branch(store).await?.unwrap_or(head.clone());
    let subs: Vec<(String, String)> = {
        let all = ocrm::sub_branches(store).await?;
        let prefix = branch.trim_start_matches("BR");
        let mine: Vec<_> = all
            .iter()
            .filter(|(code, _)| code.trim_start_matches("SB").starts_with(prefix))
            .cloned()
            .collect();
        if mine.is_empty() { all } else { mine }
    };
    let mut made = DemoUsers::default();
    let mut add = async |username: String, name: String, role: Role, org: &str| -> Result<()> {
        let user = NewUser {
            username: &username,
            display_name: &name,
            role: role.as_str(),
            org_code: org,
            password_hash,
        };
        ocrm::save_user(store, &user, "quickstart").await?;
        made.users.push((username, role, org.to_owned()));
        Ok(())
    };
    add("admin".into(), "系统管理员".into(), Role::Admin, &head).await?;
    // Staff numbers (员工号) as the source systems record sellers: the
    // sub-branch's code, then 01, 02 … for its RMs and 91 for its teller.
    let mut staff: Vec<(String, String)> = Vec::new();
    let mut n = 0;
    for (k, (code, name)) in subs.iter().enumerate() {
        for j in 1..=DEMO_RMS_PER_SUB_BRANCH {
            n += 1;
            add(
                format!("rm{n}"),
                format!("{name}客户经理{n}"),
                Role::Rm,
                code,
            )
            .await?;
            staff.push((format!("rm{n}"), format!("{code}-{j:02}")));
        }
        let teller = format!("teller{}", k + 1);
        add(teller.clone(), format!("{name}柜员"), Role::Teller, code).await?;
        staff.push((teller, format!("{code}-91")));
    }
    for (username, staff_no) in &staff {
        if let Some(u) = ocrm::user_by_username(store, username).await? {
            let change = ocrm::UserChange {
                staff_no: Some(staff_no),
                ..ocrm::UserChange::default()
            };
            ocrm::update_user(store, u.id, &change, "quickstart").await?;
        }
    }
    // The last RM of each sub-branch serves its wealth tiers.
    for k in 1..=subs.len() {
        let username = format!("rm{}", k * DEMO_RMS_PER_SUB_BRANCH);
        if let Some(u) = ocrm::user_by_username(store, &username).await? {
            let wealth = ocrm::UserChange {
                portfolio: Some("wealth"),
                ..ocrm::UserChange::default()
            };
            ocrm::update_user(store, u.id, &wealth, "quickstart").await?;
        }
    }
    let (bank, branch) = (head.as_str(), branch.as_str());
    for (user, name, role, org) in [
        ("bm1", "分行行长", Role::BranchManager, branch),
        ("analyst1", "营销分析师", Role::Analyst, bank),
        ("steward1", "数据管理员", Role::Steward, bank),
        ("auditor1", "审计员", Role::Auditor, bank),
        ("exec1", "行领导", Role::Executive, bank),
        ("agent1", "客服坐席", Role::Agent, bank),
    ] {
        add(user.into(), name.into(), role, org).await?;
    }
    made.assigned = ocrm::assign_unassigned(store, "quickstart", on)
        .await?
        .assigned;
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rm_sees_their_own_a_branch_manager_their_units_the_rest_the_bank() {
        assert!(matches!(scope_of(Role::Rm, 7, "/1/"), Scope::Assigned(7)));
        assert!(matches!(
            scope_of(Role::BranchManager, 7, "/1/4/"),
            Scope::Subtree(p) if p == "/1/4/"
        ));
        for r in [Role::Executive, Role::Agent, Role::Steward, Role::Analyst] {
            assert!(matches!(scope_of(r, 7, "/1/"), Scope::All), "{r}");
        }
    }
}
