//! `panorama appraisal …`: scorecards per role (head office, no code), a
//! period's appraisals computed from the data, one person's card line by
//! line, the ranking, and the branch manager's confirmation.

use anyhow::{Context as _, Result};
use clap::Subcommand;
use panorama_domain::money::Money;
use panorama_domain::period::Period;
use panorama_ocrm::appraisal as ops;
use panorama_store::appraisal as q;

use super::table;

/// Appraisal actions.
#[derive(Debug, Subcommand)]
pub enum AppraisalAction {
    /// The scorecards; with `--role` and `--item`s, replace that role's card.
    Card {
        /// The role (rm, teller, agent).
        #[arg(long)]
        role: Option<String>,
        /// An item: INDICATOR[/CLASS]=WEIGHT[@STANDARD][,lower][,floor=F][,cap=C]
        /// (without @STANDARD: scored against the person's target).
        #[arg(long = "item", requires = "role")]
        items: Vec<String>,
        /// Who sets it.
        #[arg(long, default_value = "admin")]
        by: String,
    },
    /// Compute a period's appraisals (confirmed ones are kept).
    Run {
        /// The period: 2026, 2026-Q3 or 2026-09.
        #[arg(long)]
        period: String,
        /// Who runs it.
        #[arg(long, default_value = "system")]
        by: String,
    },
    /// The period's appraisals, ranked within each role.
    List {
        /// The period.
        #[arg(long)]
        period: String,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One person's card, line by line.
    Show {
        /// The period.
        #[arg(long)]
        period: String,
        /// The person's login.
        #[arg(long)]
        user: String,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Confirm the period's appraisals of a branch manager's org units.
    Confirm {
        /// The period.
        #[arg(long)]
        period: String,
        /// The branch manager.
        #[arg(long)]
        by: String,
    },
}

fn period(p: &str) -> Result<Period> {
    Period::parse(p).with_context(|| format!("--period {p}: 2026, 2026-Q3 or 2026-09"))
}

fn points(centi: i64) -> String {
    Money::from_minor(centi).to_string()
}

pub(crate) async fn run(action: AppraisalAction, store: &str) -> Result<()> {
    let store = super::open_store(store).await?;
    match action {
        AppraisalAction::Card { role, items, by } => {
            if let Some(role) = &role
                && !items.is_empty()
            {
                let parsed = items
                    .iter()
                    .map(|i| ops::parse_item(i))
                    .collect::<Result<Vec<_>, _>>()?;
                ops::set_card(&store, role, &parsed, &by).await?;
                say!("the {role} scorecard set by {by}");
            }
            let mut rows = Vec::new();
            for i in q::items(&store).await? {
                if role.as_ref().is_some_and(|r| *r != i.role) {
                    continue;
                }
                let unit = ops::unit(&store, &i).await?;
                rows.push(vec![
                    i.role.clone(),
                    if i.product_class.is_empty() {
                        i.indicator.clone()
                    } else {
                        format!("{}/{}", i.indicator, i.product_class)
                    },
                    i.weight.to_string(),
                    i.standard
                        .map_or_else(|| "target".to_owned(), |s| ops::show_value(s, unit)),
                    i.better.clone(),
                    format!("{}–{}%", i.floor_pct, i.cap_pct),
                    i.updated_by,
                ]);
            }
            table::print(
                0,
                &[
                    "role",
                    "indicator",
                    "weight",
                    "against",
                    "better",
                    "counted",
                    "set by",
                ],
                rows,
            );
        }
        AppraisalAction::Run { period: p, by } => {
            let r = ops::run(&store, &period(&p)?, &by).await?;
            let roles: Vec<String> = r.by_role.iter().map(|(k, n)| format!("{n} {k}")).collect();
            say!(
                "{} appraisals of {} computed ({}); confirmed ones kept",
                r.written,
                r.period,
                roles.join(", ")
            );
        }
        AppraisalAction::List { period: p, json } => {
            let list = q::list(&store, &period(&p)?.code, None).await?;
            if json {
                say!("{}", serde_json::to_string(&list)?);
                return Ok(());
            }
            let rows = list
                .into_iter()
                .map(|a| {
                    vec![
                        a.role,
                        a.username,
                        a.org_name,
                        points(a.score_centi),
                        format!("{}/{}", a.peer_rank, a.peers),
                        a.status,
                    ]
                })
                .collect();
            table::print(
                0,
                &["role", "user", "org unit", "score", "rank", "status"],
                rows,
            );
        }
        AppraisalAction::Show {
            period: p,
            user,
            json,
        } => {
            let p = period(&p)?;
            let u = panorama_store::ocrm::user_by_username(&store, &user)
                .await?
                .with_context(|| format!("no user {user}"))?;
            let (a, lines) = q::of(&store, &p.code, u.id)
                .await?
                .with_context(|| format!("no appraisal of {user} for {}", p.code))?;
            if json {
                say!("{}", serde_json::json!({"appraisal": a, "lines": lines}));
                return Ok(());
            }
            say!(
                "{} ({}) {}: {} points, {} of {} {}s, {}",
                a.username,
                a.org_name,
                a.period,
                points(a.score_centi),
                a.peer_rank,
                a.peers,
                a.role,
                a.status
            );
            let rows = lines
                .into_iter()
                .map(|l| {
                    vec![
                        if l.product_class.is_empty() {
                            l.indicator
                        } else {
                            format!("{}/{}", l.indicator, l.product_class)
                        },
                        ops::show_value(l.actual, &l.unit),
                        l.reference.map_or_else(
                            || "— (not scored)".to_owned(),
                            |r| format!("{} {}", l.basis, ops::show_value(r, &l.unit)),
                        ),
                        l.ratio_bp
                            .map_or_else(String::new, |r| format!("{}%", points(r))),
                        l.weight.to_string(),
                        points(l.points_centi),
                    ]
                })
                .collect();
            table::print(
                2,
                &[
                    "indicator",
                    "actual",
                    "against",
                    "counted",
                    "weight",
                    "points",
                ],
                rows,
            );
        }
        AppraisalAction::Confirm { period: p, by } => {
            let p = period(&p)?;
            let n = ops::confirm(&store, &p, &by).await?;
            say!("{n} appraisals of {} confirmed by {by}", p.code);
        }
    }
    Ok(())
}

/// Incentive actions.
#[derive(Debug, Subcommand)]
pub enum IncentiveAction {
    /// The rules; with `--role` and values, replace that role's rules.
    Rules {
        /// The role (rm, teller, agent).
        #[arg(long)]
        role: Option<String>,
        /// The pool per head per month, yuan.
        #[arg(long, requires = "role")]
        pool: Option<String>,
        /// The score needed to share the pool, points.
        #[arg(long, requires = "role")]
        threshold: Option<String>,
        /// A commission rate: CLASS=PERCENT of the credited amount (repeatable).
        #[arg(long = "rate", requires = "role")]
        rates: Vec<String>,
        /// Who sets them.
        #[arg(long, default_value = "admin")]
        by: String,
    },
    /// Compute a period's incentives from its appraisals and credited sales.
    Run {
        /// The period.
        #[arg(long)]
        period: String,
        /// Who runs it.
        #[arg(long, default_value = "system")]
        by: String,
    },
    /// One person's incentive, line by line.
    Show {
        /// The period.
        #[arg(long)]
        period: String,
        /// The person's login.
        #[arg(long)]
        user: String,
    },
    /// The period's incentives as a workbook for payroll (audited).
    Export {
        /// The period.
        #[arg(long)]
        period: String,
        /// The .xlsx file to write.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Who exports it.
        #[arg(long)]
        by: String,
    },
}

pub(crate) async fn incentive(action: IncentiveAction, store: &str) -> Result<()> {
    use panorama_ocrm::incentives as pay;
    use panorama_store::incentives as iq;
    let store = super::open_store(store).await?;
    let yuan = |m: i64| Money::from_minor(m).to_string();
    match action {
        IncentiveAction::Rules {
            role,
            pool,
            threshold,
            rates,
            by,
        } => {
            if let Some(role) = &role
                && (pool.is_some() || threshold.is_some() || !rates.is_empty())
            {
                let hundredths = |t: &Option<String>, what: &str| -> Result<i64> {
                    let t = t
                        .as_deref()
                        .with_context(|| format!("--{what} is needed with the others"))?;
                    Ok(Money::parse_major(t)
                        .with_context(|| format!("--{what} {t}"))?
                        .minor())
                };
                let rates = rates
                    .iter()
                    .map(|r| {
                        let (class, pct) = r
                            .split_once('=')
                            .with_context(|| format!("--rate {r}: CLASS=PERCENT"))?;
                        // A percent with up to two decimals is basis points.
                        let bp = Money::parse_major(pct)
                            .with_context(|| format!("--rate {r}"))?
                            .minor();
                        Ok((class.trim().to_owned(), bp))
                    })
                    .collect::<Result<Vec<_>>>()?;
                pay::set_rules(
                    &store,
                    role,
                    hundredths(&pool, "pool")?,
                    hundredths(&threshold, "threshold")?,
                    &rates,
                    &by,
                )
                .await?;
                say!("the {role} incentive rules set by {by}");
            }
            let rows = iq::rules(&store)
                .await?
                .into_iter()
                .filter(|r| role.as_ref().is_none_or(|x| *x == r.role))
                .map(|r| {
                    let value = match r.kind.as_str() {
                        "pool" => format!("{} yuan per head per month", yuan(r.value)),
                        "threshold" => format!("{} points", points(r.value)),
                        _ => format!("{}% of the credited amount", points(r.value)),
                    };
                    vec![r.role, r.kind, r.product_class, value, r.updated_by]
                })
                .collect();
            table::print(0, &["role", "kind", "class", "value", "set by"], rows);
        }
        IncentiveAction::Run { period: p, by } => {
            let r = pay::run(&store, &period(&p)?, &by).await?;
            say!(
                "incentives of {p}: {} people, {} yuan ({} from pools, {} commission)",
                r.people,
                yuan(r.total_minor),
                yuan(r.pools_minor),
                yuan(r.commission_minor)
            );
        }
        IncentiveAction::Show { period: p, user } => {
            let p = period(&p)?;
            let u = panorama_store::ocrm::user_by_username(&store, &user)
                .await?
                .with_context(|| format!("no user {user}"))?;
            let (i, lines) = iq::of(&store, &p.code, u.id)
                .await?
                .with_context(|| format!("no incentive of {user} for {}", p.code))?;
            say!(
                "{} {}: {} yuan (score {})",
                i.username,
                i.period,
                yuan(i.amount_minor),
                points(i.score_centi)
            );
            let rows = lines
                .into_iter()
                .map(|l| {
                    let how = match l.kind.as_str() {
                        "commission" => format!(
                            "{} × {}%",
                            yuan(l.base_minor),
                            points(l.rate_bp.unwrap_or(0))
                        ),
                        "pool" => format!(
                            "{} × {} / {}",
                            yuan(l.base_minor),
                            points(l.score_centi.unwrap_or(0)),
                            points(l.scores_centi.unwrap_or(0))
                        ),
                        _ => format!(
                            "score {} below the threshold {}",
                            points(l.score_centi.unwrap_or(0)),
                            points(l.scores_centi.unwrap_or(0))
                        ),
                    };
                    vec![l.kind, l.label, how, yuan(l.amount_minor)]
                })
                .collect();
            table::print(2, &["kind", "of", "how", "yuan"], rows);
        }
        IncentiveAction::Export { period: p, out, by } => {
            let p = period(&p)?;
            let who = panorama_store::ocrm::user_by_username(&store, &by)
                .await?
                .with_context(|| format!("no user {by}"))?;
            let mut rows = Vec::new();
            for r in iq::list(&store, &p.code, None).await? {
                if let Some(full) = iq::of(&store, &p.code, r.user_id).await? {
                    rows.push(full);
                }
            }
            let bytes = panorama_web::appraisal::incentives_xlsx(&p.code, &rows)?;
            std::fs::write(&out, bytes).with_context(|| format!("writing {}", out.display()))?;
            iq::audit_export(&store, &p.code, rows.len(), (Some(who.id), &who.username)).await?;
            say!(
                "{} incentives of {} written to {}",
                rows.len(),
                p.code,
                out.display()
            );
        }
    }
    Ok(())
}
