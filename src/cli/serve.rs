//! The web workbench from the command line: serving it, its users, and the
//! assignment of customers to RMs.

use clap::Subcommand;
use std::io::Read as _;
use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use panorama_analytics::Config;
use panorama_store::Store;
use panorama_store::ocrm::{self, NewUser};
use panorama_web::{TierLabel, WebConfig, auth};

/// How sessions are kept, and who reads the metrics.
#[derive(Debug, Clone)]
pub struct Sessions {
    /// Mark cookies `Secure` (served over TLS).
    pub secure_cookies: bool,
    /// Idle minutes before a session expires.
    pub idle_minutes: i64,
    /// Hours after its login a session ends, however active.
    pub absolute_hours: i64,
    /// The bearer token of a metrics scraper.
    pub metrics_token: Option<String>,
}

impl Sessions {
    /// The defaults (30 idle minutes, 12 hours), Secure cookies when users
    /// open an https:// address or `secure` says so.
    pub fn new(public_url: Option<&str>, secure: bool) -> Sessions {
        Sessions {
            secure_cookies: secure || public_url.is_some_and(|u| u.starts_with("https://")),
            idle_minutes: 30,
            absolute_hours: 12,
            metrics_token: None,
        }
    }
}

/// Serves the workbench on `addr` until stopped.
pub async fn serve(
    store: Store,
    config: &Config,
    analytics: std::path::PathBuf,
    addr: SocketAddr,
    sessions: Sessions,
) -> Result<()> {
    if !addr.ip().is_loopback() && !sessions.secure_cookies {
        say!(
            "warning: serving beyond this machine without Secure cookies; put a TLS proxy in front and give --public-url https://…"
        );
    }
    let web = WebConfig {
        secure_cookies: sessions.secure_cookies,
        session_idle_minutes: sessions.idle_minutes.max(1),
        session_absolute_seconds: sessions.absolute_hours.max(1) * 3600,
        metrics_token: sessions.metrics_token,
        tiers: TierLabel::of(config),
        analytics: Some(panorama_web::WebAnalytics {
            dir: analytics,
            config: config.clone(),
        }),
        ..WebConfig::default()
    };
    say!("Panorama workbench: http://{addr}/ (Ctrl-C stops it)");
    panorama_web::serve(store, web, addr)
        .await
        .with_context(|| format!("serving on {addr}"))
}

/// `panorama users …`.
#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// List users.
    List,
    /// Create or update a user; the password is read from PANORAMA_PASSWORD or stdin.
    Add {
        /// Login name.
        username: String,
        /// Role: admin, analyst, branch_manager, rm, steward, auditor, executive, agent.
        #[arg(long)]
        role: String,
        /// Org unit code (e.g. SB0101).
        #[arg(long)]
        org: String,
        /// Name shown in the interface (default: the login name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Create the demo users (admin, rm1…rmN, bm1, analyst1, steward1, auditor1, exec1, agent1).
    Demo {
        /// Their password (default: a random one, printed).
        #[arg(long, env = "PANORAMA_DEMO_PASSWORD")]
        password: Option<String>,
    },
    /// Assign every unassigned customer to an RM of their home branch (round robin).
    Assign,
    /// Move the customers matching a segment condition (on the latest
    /// features) to an RM — or, without `--rm`, reclaim them to the pool —
    /// within the org units of the branch manager `--by`; audited per
    /// customer.
    Move {
        /// The condition, e.g. "tier = 'platinum' and aum >= 3000000".
        #[arg(long = "where")]
        condition: String,
        /// The receiving RM (login); none reclaims.
        #[arg(long)]
        rm: Option<String>,
        /// The branch manager (or executive) moving them.
        #[arg(long)]
        by: String,
        /// Why (kept with each assignment).
        #[arg(long, default_value = "moved by segment condition")]
        reason: String,
        /// Features of this date (default: the latest computed).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
}

/// `panorama users …`.
pub async fn users(store: &Store, action: UsersAction) -> Result<()> {
    match action {
        UsersAction::List => {
            let rows = ocrm::users(store).await?.into_iter().map(|u| {
                let inactive = if u.active == 1 { "" } else { " (inactive)" };
                vec![
                    u.username,
                    u.display_name,
                    u.role,
                    u.org_code,
                    format!("{}{inactive}", u.org_name),
                ]
            });
            let header = ["user", "name", "role", "org", "org name"];
            super::table::print(0, &header, rows.collect());
            Ok(())
        }
        UsersAction::Add {
            username,
            role,
            org,
            name,
        } => {
            let password = match std::env::var("PANORAMA_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut p = String::new();
                    std::io::stdin()
                        .read_to_string(&mut p)
                        .context("reading the password from stdin")?;
                    p.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            if password.chars().count() < 8 {
                bail!("the password must have at least 8 characters");
            }
            let hash = auth::hash_password(&password)?;
            let id = ocrm::save_user(
                store,
                &NewUser {
                    username: &username,
                    display_name: name.as_deref().unwrap_or(&username),
                    role: &role,
                    org_code: &org,
                    password_hash: &hash,
                },
                "cli",
            )
            .await?;
            say!("user {username} saved (id {id}, role {role}, org {org})");
            Ok(())
        }
        UsersAction::Demo { password } => {
            let password = password.unwrap_or_else(|| auth::random_password(12));
            demo_users(store, &password).await
        }
        UsersAction::Move { .. } => {
            bail!("moving customers needs the analytics: run it through the CLI")
        }
        UsersAction::Assign => {
            let today = chrono::Local::now().date_naive().to_string();
            let r = ocrm::assign_unassigned(store, "cli", &today).await?;
            say!(
                "assigned {} customers to RMs of their home branch; {} have no RM in their branch",
                r.assigned,
                r.without_rm
            );
            Ok(())
        }
    }
}

/// `panorama users move`: moves `customers` to the RM `rm` (or reclaims
/// them) as the user `by`, and prints what happened.
pub async fn move_customers(
    store: &Store,
    customers: &[i64],
    rm: Option<&str>,
    by: &str,
    reason: &str,
) -> Result<()> {
    let today = chrono::Local::now().date_naive().to_string();
    let report =
        panorama_ocrm::users::move_customers(store, customers, rm, by, reason, &today).await?;
    say!(
        "{} customers matched: {} moved {}, {} already there, {} outside {by}'s org units (left as they were)",
        customers.len(),
        report.moved,
        rm.map_or_else(|| "to the pool".to_owned(), |r| format!("to {r}")),
        report.unchanged,
        report.refused.len()
    );
    Ok(())
}

/// Creates the demo users with `password` and prints their logins.
pub async fn demo_users(store: &Store, password: &str) -> Result<()> {
    let hash = auth::hash_password(password)?;
    let today = chrono::Local::now().date_naive().to_string();
    let made = panorama_ocrm::users::create_demo_users(store, &hash, &today).await?;
    say!("");
    say!("Demo users (password: {password}):");
    for (username, role, org) in &made.users {
        say!("  {username:<10} {:<15} {org}", role.as_str());
    }
    say!(
        "  {} customers assigned to the RMs of their home sub-branch",
        made.assigned
    );
    Ok(())
}

#[cfg(test)]
mod session_tests {
    use super::Sessions;

    #[test]
    fn cookies_are_secure_when_users_open_an_https_address() {
        assert!(Sessions::new(Some("https://crm.bank.example"), false).secure_cookies);
        assert!(!Sessions::new(Some("http://127.0.0.1:8080"), false).secure_cookies);
        assert!(!Sessions::new(None, false).secure_cookies);
        assert!(Sessions::new(None, true).secure_cookies);
        let s = Sessions::new(None, false);
        assert_eq!((s.idle_minutes, s.absolute_hours), (30, 12));
    }
}
