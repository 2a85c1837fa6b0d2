//! The management dashboard (经营驾驶舱) for branch managers and executives:
//! an org unit of their subtree and a period; customers and AUM by tier,
//! the tier migration matrix, the RMs' books compared, segment sizes,
//! campaign results, target progress and the profit Pareto — as charts and
//! tables, as JSON, and as an Excel workbook (a sheet per block).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;
use panorama_store::dashboard::{self, Dashboard};
use panorama_store::targets::Period;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::Deserialize;

use crate::AppState;
use crate::auth::User;
use crate::error::WebError;
use crate::extract::{Require, perm};
use crate::i18n::{self as t, Lang};
use crate::ui::{OrPage, PageError, chart, layout, urlencode, yuan};

/// The dashboard's filters.
#[derive(Debug, Deserialize)]
pub struct DashQuery {
    org: Option<String>,
    period: Option<String>,
}

struct Scoped {
    org: panorama_store::org::OrgUnit,
    period: Period,
    data: Dashboard,
}

async fn read(
    state: &AppState,
    user: &User,
    q: &DashQuery,
    lang: Lang,
) -> Result<Scoped, WebError> {
    let code = q
        .org
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(&user.org_code);
    let org = panorama_store::org::unit_within(&state.store, code, &user.org_path)
        .await?
        .ok_or(WebError::NotFound)?;
    let period_code = match q.period.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(code) => code.to_owned(),
        None => crate::targets::current_quarter(state).await?,
    };
    let period = Period::parse(&period_code)
        .ok_or_else(|| WebError::BadRequest(format!("{}: {period_code}", t::PERIOD.get(lang))))?;
    let mut data = dashboard::build(&state.store, org.id, &org.path, &period).await?;
    // Tiers in the configuration's order (核心 first).
    data.tiers.sort_by_key(|c| tier_rank(state, &c.tier));
    data.migration
        .sort_by_key(|m| (tier_rank(state, &m.0), tier_rank(state, &m.1)));
    Ok(Scoped { org, period, data })
}

/// A tier's place in the configuration (unknown codes last).
fn tier_rank(state: &AppState, code: &str) -> usize {
    state
        .config
        .tiers
        .iter()
        .position(|t| t.code == code)
        .unwrap_or(usize::MAX)
}

fn tier_label(state: &AppState, lang: Lang, code: &str) -> String {
    state
        .config
        .tiers
        .iter()
        .find(|t| t.code == code)
        .map_or_else(
            || code.to_owned(),
            |t| {
                if lang == Lang::Zh {
                    t.zh.clone()
                } else {
                    t.en.clone()
                }
            },
        )
}

fn rate(members: i64, responders: i64) -> Option<f64> {
    (members > 0).then(|| responders as f64 / members as f64)
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", 100.0 * v))
}

/// `GET /api/dashboard?org=&period=`.
pub async fn api(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewDashboards>,
    Query(q): Query<DashQuery>,
) -> Result<Response, WebError> {
    let user = &user;
    let s = read(&state, user, &q, ctx.lang).await?;
    Ok(Json(serde_json::json!({"org": s.org.code, "from": s.period.from, "to": s.period.to, "dashboard": s.data})).into_response())
}

/// `GET /dashboard?org=&period=`.
pub async fn page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewDashboards>,
    Query(q): Query<DashQuery>,
) -> Result<Response, PageError> {
    let path = "/dashboard";
    let user = &user;
    let lang = ctx.lang;
    let s = read(&state, user, &q, lang).await.page(&ctx, path)?;
    let orgs: Vec<(String, String)> =
        panorama_store::org::units_within(&state.store, &user.org_path)
            .await
            .page(&ctx, path)?;
    let d = &s.data;
    let csrf = ctx.csrf().await;
    let api = format!(
        "/api/dashboard?org={}&period={}",
        urlencode(&s.org.code),
        urlencode(&s.period.code)
    );
    let tier_words: Vec<(String, String)> = d
        .tiers
        .iter()
        .map(|c| &c.tier)
        .chain(d.migration.iter().flat_map(|m| [&m.0, &m.1]))
        .map(|code| (code.clone(), tier_label(&state, lang, code)))
        .collect();
    let from_tiers: Vec<&String> = {
        let mut v: Vec<&String> = d.migration.iter().map(|m| &m.0).collect();
        v.sort_by_key(|c| tier_rank(&state, c));
        v.dedup();
        v
    };
    let to_tiers: Vec<&String> = {
        let mut v: Vec<&String> = d.migration.iter().map(|m| &m.1).collect();
        v.sort_by_key(|c| tier_rank(&state, c));
        v.dedup();
        v
    };
    let export = format!(
        "/dashboard.xlsx?org={}&period={}",
        urlencode(&s.org.code),
        urlencode(&s.period.code)
    );
    let body = html! {
        form method="get" action="/dashboard" {
            label { (t::ORG.get(lang)) " " select name="org" {
                @for (code, n) in &orgs { option value=(code) selected[*code == s.org.code] { (n) " " (code) } }
            } } " "
            label { (t::PERIOD.get(lang)) " " input name="period" size="8" value=(s.period.code); } " "
            button type="submit" { (t::VIEW.get(lang)) } " · "
            a href=(export) id="export-excel" { (t::EXPORT_EXCEL.get(lang)) }
        }
        p.muted { (s.org.name) " · " (t::AS_OF.get(lang)) " " (d.as_of.as_deref().unwrap_or("—")) " · " (s.period.from) " → " (s.period.to) }
        div.grid {
            section id="by-tier" {
                h2 { (t::BY_TIER.get(lang)) }
                (chart("tier-chart", "tiers", &api, &tier_words, &[]))
                table { tbody { @for c in &d.tiers { tr {
                    td { (tier_label(&state, lang, &c.tier)) } td.n { (c.customers) } td.n { (yuan(Some(c.aum_minor))) }
                } } } }
            }
            section id="migration" {
                h2 { (t::MIGRATION.get(lang)) }
                @if d.migration.is_empty() { p.muted { (t::NONE.get(lang)) } } @else {
                    (chart("migration-chart", "migration", &api, &tier_words, &[]))
                    table { thead { tr { th {} @for to in &to_tiers { th.n { (tier_label(&state, lang, to)) } } } }
                    tbody { @for from in &from_tiers { tr {
                        th { (tier_label(&state, lang, from)) }
                        @for to in &to_tiers {
                            td.n { (d.migration.iter().find(|m| &m.0 == *from && &m.1 == *to).map_or(0, |m| m.2)) }
                        }
                    } } } }
                }
            }
            section id="pareto" {
                h2 { (t::PARETO.get(lang)) }
                (chart("pareto-chart", "pareto", &api, &[], &[]))
                table { tbody { @for p in &d.pareto { tr { td { (format!("{:.0}%", 100.0 * p.customers)) } td.n { (pct(Some(p.profit))) } } } } }
                p.muted { (t::LOSS_MAKING.get(lang)) " " (d.loss_making) }
            }
            section id="target-progress" {
                h2 { (t::TARGET_PROGRESS.get(lang)) }
                @if d.targets.is_empty() { p.muted { (t::NONE.get(lang)) } } @else {
                    (chart("target-chart", "target-progress", &api, &[], &[]))
                }
                table { tbody { @for c in &d.targets { tr {
                    td { (if lang == Lang::Zh { &c.name } else { &c.name_en }) }
                    td.n { @if c.unit == "minor" { (yuan(Some(c.actual))) " / " (yuan(Some(c.target))) } @else { (c.actual) " / " (c.target) } }
                    td.n { (pct((c.target > 0).then(|| c.actual as f64 / c.target as f64))) }
                } } } }
            }
        }
        section id="rm-comparison" {
            h2 { (t::RM_COMPARISON.get(lang)) }
            table { thead { tr { th { "RM" } th { (t::ORG.get(lang)) } th.n { (t::CUSTOMERS.get(lang)) } th.n { (t::AUM.get(lang)) } th.n { (t::PROFIT.get(lang)) } } }
            tbody { @for r in &d.rms { tr {
                td { (r.name) " " span.muted { (r.username) } } td { (r.org) } td.n { (r.customers) }
                td.n { (yuan(Some(r.aum_minor))) } td.n { (yuan(Some(r.profit_minor))) }
            } } } }
        }
        div.grid {
            section id="segment-sizes" {
                h2 { (t::SEGMENT_SIZES.get(lang)) }
                @if d.segments.is_empty() { p.muted { (t::NONE.get(lang)) } } @else {
                    (chart("segment-chart", "segments", &api, &[], &[]))
                }
            }
            section id="campaign-results" {
                h2 { (t::CAMPAIGN_RESULTS.get(lang)) }
                table { thead { tr { th {} th.n { (t::TREATED.get(lang)) } th.n { (t::CONTROL_GROUP.get(lang)) } th.n { (t::LIFT.get(lang)) } } }
                tbody { @for c in &d.campaigns { tr {
                    @let (tr_, cr) = (rate(c.treated.0, c.treated.1), rate(c.control.0, c.control.1));
                    td { (c.name) } td.n { (pct(tr_)) " (" (c.treated.0) ")" } td.n { (pct(cr)) " (" (c.control.0) ")" }
                    td.n { (match (tr_, cr) { (Some(a), Some(b)) => format!("{:+.1} pp", 100.0 * (a - b)), _ => "—".to_owned() }) }
                } } } }
            }
        }
    };
    Ok(layout(lang, Some(user), &csrf, t::DASHBOARD.get(lang), body).into_response())
}

fn header_row(sheet: &mut Worksheet, titles: &[&str], bold: &Format) -> Result<(), XlsxError> {
    for (k, title) in titles.iter().enumerate() {
        sheet.write_string_with_format(0, k as u16, *title, bold)?;
    }
    Ok(())
}

/// Yuan as a number with two decimals (exact for any realistic balance).
fn yuan_number(minor: i64) -> f64 {
    minor as f64 / 100.0
}

fn workbook(state: &AppState, lang: Lang, s: &Scoped) -> Result<Vec<u8>, XlsxError> {
    let d = &s.data;
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let percent = Format::new().set_num_format("0.0%");
    let sheet = book.add_worksheet().set_name("tiers")?;
    header_row(sheet, &["tier", "name", "customers", "aum_yuan"], &bold)?;
    for (k, c) in d.tiers.iter().enumerate() {
        let r = k as u32 + 1;
        sheet.write_string(r, 0, &c.tier)?;
        sheet.write_string(r, 1, tier_label(state, lang, &c.tier))?;
        sheet.write_number(r, 2, c.customers as f64)?;
        sheet.write_number_with_format(r, 3, yuan_number(c.aum_minor), &money)?;
    }
    let sheet = book.add_worksheet().set_name("migration")?;
    header_row(sheet, &["from", "to", "customers"], &bold)?;
    for (k, (from, to, n)) in d.migration.iter().enumerate() {
        let r = k as u32 + 1;
        sheet.write_string(r, 0, from)?;
        sheet.write_string(r, 1, to)?;
        sheet.write_number(r, 2, *n as f64)?;
    }
    let sheet = book.add_worksheet().set_name("rms")?;
    header_row(
        sheet,
        &[
            "username",
            "name",
            "org",
            "customers",
            "aum_yuan",
            "profit_yuan",
        ],
        &bold,
    )?;
    for (k, b) in d.rms.iter().enumerate() {
        let r = k as u32 + 1;
        sheet.write_string(r, 0, &b.username)?;
        sheet.write_string(r, 1, &b.name)?;
        sheet.write_string(r, 2, &b.org)?;
        sheet.write_number(r, 3, b.customers as f64)?;
        sheet.write_number_with_format(r, 4, yuan_number(b.aum_minor), &money)?;
        sheet.write_number_with_format(r, 5, yuan_number(b.profit_minor), &money)?;
    }
    let sheet = book.add_worksheet().set_name("segments")?;
    header_row(sheet, &["segment", "customers"], &bold)?;
    for (k, (name, n)) in d.segments.iter().enumerate() {
        sheet.write_string(k as u32 + 1, 0, name)?;
        sheet.write_number(k as u32 + 1, 1, *n as f64)?;
    }
    let sheet = book.add_worksheet().set_name("campaigns")?;
    header_row(
        sheet,
        &[
            "campaign",
            "status",
            "treated",
            "treated_responders",
            "control",
            "control_responders",
        ],
        &bold,
    )?;
    for (k, c) in d.campaigns.iter().enumerate() {
        let r = k as u32 + 1;
        sheet.write_string(r, 0, &c.name)?;
        sheet.write_string(r, 1, &c.status)?;
        for (col, v) in [c.treated.0, c.treated.1, c.control.0, c.control.1]
            .iter()
            .enumerate()
        {
            sheet.write_number(r, col as u16 + 2, *v as f64)?;
        }
    }
    let sheet = book.add_worksheet().set_name("targets")?;
    header_row(
        sheet,
        &["indicator", "unit", "target", "actual", "progress"],
        &bold,
    )?;
    for (k, c) in d.targets.iter().enumerate() {
        let r = k as u32 + 1;
        let scale = |v: i64| {
            if c.unit == "minor" {
                yuan_number(v)
            } else {
                v as f64
            }
        };
        sheet.write_string(r, 0, &c.indicator)?;
        sheet.write_string(r, 1, if c.unit == "minor" { "yuan" } else { "count" })?;
        sheet.write_number(r, 2, scale(c.target))?;
        sheet.write_number(r, 3, scale(c.actual))?;
        if c.target > 0 {
            sheet.write_number_with_format(r, 4, c.actual as f64 / c.target as f64, &percent)?;
        }
    }
    let sheet = book.add_worksheet().set_name("pareto")?;
    header_row(sheet, &["top_customers", "profit_share"], &bold)?;
    for (k, p) in d.pareto.iter().enumerate() {
        sheet.write_number_with_format(k as u32 + 1, 0, p.customers, &percent)?;
        sheet.write_number_with_format(k as u32 + 1, 1, p.profit, &percent)?;
    }
    let sheet = book.add_worksheet().set_name("about")?;
    for (r, (k, v)) in [
        ("org", s.org.code.as_str()),
        ("org_name", s.org.name.as_str()),
        ("period", s.period.code.as_str()),
        ("as_of", d.as_of.as_deref().unwrap_or("")),
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(r as u32, 0, *k)?;
        sheet.write_string(r as u32, 1, *v)?;
    }
    book.save_to_buffer()
}

/// `GET /dashboard.xlsx?org=&period=`: the dashboard as a workbook; audited
/// as an export.
pub async fn excel(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewDashboards>,
    Query(q): Query<DashQuery>,
) -> Result<Response, WebError> {
    let user = &user;
    let s = read(&state, user, &q, ctx.lang).await?;
    let bytes = workbook(&state, ctx.lang, &s).map_err(|e| WebError::Internal(e.to_string()))?;
    ctx.audit(
        &state,
        panorama_store::ocrm::Audit {
            action: "dashboard.export",
            object_type: Some("org_unit"),
            object_id: Some(&s.org.code),
            detail: Some(&format!("period={}", s.period.code)),
            ..panorama_store::ocrm::Audit::default()
        },
    )
    .await?;
    let name = format!("dashboard-{}-{}.xlsx", s.org.code, s.period.code);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/dashboard", get(page))
        .route("/dashboard.xlsx", get(excel))
        .route("/api/dashboard", get(api))
}
