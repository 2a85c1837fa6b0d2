//! Appraisal (绩效考核) in the workbench: an RM, teller or agent reads their
//! scorecard for a period line by line — the actual, what it was scored
//! against, the ratio counted, the points — and drills from the sales lines
//! to the sales credited to them; a branch manager reads their org units'
//! people ranked and confirms the period; an executive reads the bank's.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike as _;
use maud::{Markup, html};
use panorama_domain::money::Money;
use panorama_domain::period::Period;
use panorama_ocrm::appraisal as ops;
use panorama_store::appraisal::{self as q, AppraisalRow, LineRow};
use panorama_store::incentives::{self as iq, IncentiveRow, LineRow as PayLine};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{Permission, Role, User};
use crate::error::WebError;
use crate::extract::{ApiCsrf, CsrfForm, HasCsrf, Require, perm};
use crate::i18n::{self as t, Lang, word};
use crate::ui::{OrPage, PageError, layout};

/// `?period=2026-Q3&user=rm1`.
#[derive(Debug, Default, Deserialize)]
pub struct CardQuery {
    period: Option<String>,
    user: Option<String>,
}

/// The quarter before today's: the one being appraised.
fn last_quarter() -> String {
    let d = chrono::Local::now().date_naive();
    let q = (d.month() - 1) / 3;
    if q == 0 {
        format!("{}-Q4", d.year() - 1)
    } else {
        format!("{}-Q{q}", d.year())
    }
}

fn period_of(q: &CardQuery, lang: Lang) -> Result<Period, WebError> {
    let code = q.period.clone().unwrap_or_else(last_quarter);
    Period::parse(&code)
        .ok_or_else(|| WebError::BadRequest(format!("{}: {code}", t::PERIOD.get(lang))))
}

/// Whose card `viewer` reads: their own, or (a manager) someone's under
/// their org units (an executive: anyone's).
async fn whose(state: &AppState, viewer: &User, login: Option<&str>) -> Result<i64, WebError> {
    let Some(login) = login.filter(|l| *l != viewer.username) else {
        return Ok(viewer.id);
    };
    let u = panorama_store::ocrm::user_by_username(&state.store, login)
        .await?
        .ok_or(WebError::NotFound)?;
    let may = match viewer.role {
        Role::Executive => true,
        Role::BranchManager => u.org_path.starts_with(&viewer.org_path),
        _ => false,
    };
    if may {
        Ok(u.id)
    } else {
        Err(WebError::NotFound)
    }
}

/// The people whose cards `viewer` reads beside their own.
async fn team(
    state: &AppState,
    viewer: &User,
    period: &Period,
) -> Result<Vec<AppraisalRow>, WebError> {
    let under = match viewer.role {
        Role::Executive => None,
        Role::BranchManager => Some(viewer.org_path.as_str()),
        _ => return Ok(Vec::new()),
    };
    Ok(q::list(&state.store, &period.code, under).await?)
}

fn points(centi: i64) -> String {
    Money::from_minor(centi).to_string()
}

/// A line's value in its unit's terms, money grouped by thousands.
fn value(v: i64, unit: &str) -> String {
    if unit == "minor" {
        crate::ui::yuan(Some(v))
    } else {
        ops::show_value(v, unit)
    }
}

fn indicator_name(l: &LineRow, lang: Lang) -> String {
    let name = word(&l.indicator, lang).to_owned();
    if l.product_class.is_empty() {
        name
    } else {
        format!("{name} · {}", word(&l.product_class, lang))
    }
}

fn card(a: &AppraisalRow, lines: &[LineRow], period: &Period, own: bool, lang: Lang) -> Markup {
    html! {
        p id="card-score" {
            strong { (t::SCORE.get(lang)) " " (points(a.score_centi)) } " · "
            (t::PEER_RANK.get(lang)) " " (a.peer_rank) " / " (a.peers) " · "
            span.tag { (word(&a.status, lang)) }
            @if let Some(by) = &a.confirmed_by { " " span.muted { (by) } }
        }
        table id="card-lines" { thead { tr {
            th { (t::INDICATOR.get(lang)) } th.n { (t::ACTUAL.get(lang)) } th { (t::AGAINST.get(lang)) }
            th.n { (t::RATIO_COUNTED.get(lang)) } th.n { (t::WEIGHT.get(lang)) } th.n { (t::POINTS.get(lang)) }
        } } tbody { @for l in lines { tr {
            td {
                (indicator_name(l, lang))
                @if own && matches!(l.indicator.as_str(), "sales_count" | "sales_amount" | "product_sales" | "wealth_sales") {
                    " " a.drill id={ "drill-" (l.indicator) } href={ "/sales?from=" (period.from) "&to=" (period.to) } { (t::CREDITED_SALES.get(lang)) }
                }
            }
            td.n { (value(l.actual, &l.unit)) }
            td { @match l.reference {
                Some(r) => { (word(&l.basis, lang)) " " (value(r, &l.unit)) @if l.better == "lower" { " ↓" } }
                None => span.muted { (t::NOT_SCORED.get(lang)) },
            } }
            td.n { (l.ratio_bp.map_or_else(String::new, |r| format!("{}%", points(r)))) }
            td.n { (l.weight) }
            td.n { (points(l.points_centi)) }
        } } } }
        @if lines.iter().any(|l| l.ratio_bp.is_none()) { p.muted { (t::WEIGHTS_SPREAD.get(lang)) } }
    }
}

fn yuan(minor: i64) -> String {
    crate::ui::yuan(Some(minor))
}

/// An incentive line in words: how its amount was reached.
fn pay_line(l: &PayLine, lang: Lang) -> String {
    match l.kind.as_str() {
        "commission" => format!(
            "{} {} {} × {}% = {}",
            t::COMMISSION.get(lang),
            word(&l.label, lang),
            yuan(l.base_minor),
            points(l.rate_bp.unwrap_or(0)),
            yuan(l.amount_minor)
        ),
        "pool" => format!(
            "{} {} {} × {} / {} = {}",
            l.label,
            t::POOL.get(lang),
            yuan(l.base_minor),
            points(l.score_centi.unwrap_or(0)),
            points(l.scores_centi.unwrap_or(0)),
            yuan(l.amount_minor)
        ),
        _ => format!(
            "{} {} < {}: {}",
            t::SCORE.get(lang),
            points(l.score_centi.unwrap_or(0)),
            points(l.scores_centi.unwrap_or(0)),
            t::BELOW_THRESHOLD.get(lang)
        ),
    }
}

fn incentive(i: &Option<(IncentiveRow, Vec<PayLine>)>, lang: Lang) -> Markup {
    html! {
        section id="incentive" {
            h2 { (t::INCENTIVE.get(lang)) }
            @match i {
                Some((row, lines)) => {
                    p id="incentive-total" { strong { (yuan(row.amount_minor)) } }
                    ul id="incentive-lines" { @for l in lines { li { (pay_line(l, lang)) } } }
                }
                None => p.muted { (t::NO_INCENTIVE.get(lang)) },
            }
        }
    }
}

/// The incentives of a period as a workbook for payroll: a sheet
/// `incentives` (one row a person, amounts in yuan and in fen) and a sheet
/// `lines` (how each amount was reached).
pub fn incentives_xlsx(
    period: &str,
    rows: &[(IncentiveRow, Vec<PayLine>)],
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let sheet = book.add_worksheet().set_name("incentives")?;
    let head = [
        "period",
        "staff_no",
        "login",
        "name",
        "role",
        "org_code",
        "org_name",
        "score",
        "amount_yuan",
        "amount_fen",
    ];
    for (c, h) in head.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (k, (r, _)) in rows.iter().enumerate() {
        let row = k as u32 + 1;
        sheet.write_string(row, 0, period)?;
        sheet.write_string(row, 1, r.staff_no.as_deref().unwrap_or(""))?;
        sheet.write_string(row, 2, &r.username)?;
        sheet.write_string(row, 3, &r.display_name)?;
        sheet.write_string(row, 4, &r.role)?;
        sheet.write_string(row, 5, &r.org_code)?;
        sheet.write_string(row, 6, &r.org_name)?;
        sheet.write_string(row, 7, points(r.score_centi))?;
        // The yuan column from the exact decimal text; fen as the integer.
        let yuan: f64 = Money::from_minor(r.amount_minor)
            .to_string()
            .parse()
            .unwrap_or(0.0);
        sheet.write_number_with_format(row, 8, yuan, &money)?;
        sheet.write_string(row, 9, r.amount_minor.to_string())?;
    }
    let sheet = book.add_worksheet().set_name("lines")?;
    for (c, h) in [
        "login",
        "kind",
        "label",
        "base_fen",
        "rate_bp",
        "score",
        "scores",
        "amount_fen",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let mut row = 1;
    for (r, lines) in rows {
        for l in lines {
            sheet.write_string(row, 0, &r.username)?;
            sheet.write_string(row, 1, &l.kind)?;
            sheet.write_string(row, 2, &l.label)?;
            sheet.write_string(row, 3, l.base_minor.to_string())?;
            sheet.write_string(row, 4, l.rate_bp.map(|b| b.to_string()).unwrap_or_default())?;
            sheet.write_string(row, 5, l.score_centi.map(points).unwrap_or_default())?;
            sheet.write_string(row, 6, l.scores_centi.map(points).unwrap_or_default())?;
            sheet.write_string(row, 7, l.amount_minor.to_string())?;
            row += 1;
        }
    }
    book.save_to_buffer()
}

/// `GET /appraisal/incentives.xlsx?period=`: the incentives of a branch
/// manager's org units (an executive's: the bank's) for payroll; audited.
pub async fn export(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewAppraisal>,
    Query(cq): Query<CardQuery>,
) -> Result<Response, WebError> {
    let period = period_of(&cq, ctx.lang)?;
    let under = match user.role {
        Role::Executive => None,
        Role::BranchManager => Some(user.org_path.as_str()),
        _ => return Err(WebError::Forbidden),
    };
    let mut rows = Vec::new();
    for r in iq::list(&state.store, &period.code, under).await? {
        if let Some(full) = iq::of(&state.store, &period.code, r.user_id).await? {
            rows.push(full);
        }
    }
    iq::audit_export(
        &state.store,
        &period.code,
        rows.len(),
        (Some(user.id), &user.username),
    )
    .await?;
    let bytes =
        incentives_xlsx(&period.code, &rows).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"incentives-{}.xlsx\"", period.code),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /appraisal?period=&user=`.
pub async fn page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewAppraisal>,
    Query(cq): Query<CardQuery>,
) -> Result<Response, PageError> {
    let path = "/appraisal";
    let lang = ctx.lang;
    let period = period_of(&cq, lang).page(&ctx, path)?;
    let subject = whose(&state, &user, cq.user.as_deref())
        .await
        .page(&ctx, path)?;
    let mine = q::of(&state.store, &period.code, subject)
        .await
        .page(&ctx, path)?;
    let people = team(&state, &user, &period).await.page(&ctx, path)?;
    let pay = iq::of(&state.store, &period.code, subject)
        .await
        .page(&ctx, path)?;
    crate::context::audit_list(
        &state,
        &ctx,
        "appraisal.view",
        &period.code,
        people.len() + usize::from(mine.is_some()),
    )
    .await
    .page(&ctx, path)?;
    let csrf = ctx.csrf().await;
    let own = subject == user.id;
    // A manager without a card of their own sees only the team's.
    let show_card = !own || ops::ROLES.contains(&user.role.as_str()) || mine.is_some();
    let body = html! {
        section id="appraisal-period" {
            form method="get" action="/appraisal" {
                (t::PERIOD.get(lang)) " "
                input name="period" id="appraisal-period-input" size="8" value=(period.code); " "
                @if let Some(u) = &cq.user { input type="hidden" name="user" value=(u); }
                button type="submit" { (t::SEARCH.get(lang)) }
            }
        }
        @if show_card {
            section id="my-appraisal" {
                h2 { (if own { t::MY_APPRAISAL.get(lang) } else { t::APPRAISAL.get(lang) }) " · " (period.code)
                    @if let Some((a, _)) = &mine { " · " (a.display_name) } }
                @match &mine {
                    Some((a, lines)) => (card(a, lines, &period, own, lang)),
                    None => p.muted { (t::NO_APPRAISAL.get(lang)) },
                }
            }
            (incentive(&pay, lang))
        }
        @if matches!(user.role, Role::BranchManager | Role::Executive) {
            section id="team-appraisal" {
                h2 { (t::TEAM_APPRAISAL.get(lang)) " · " (period.code) }
                @if people.is_empty() { p.muted { (t::NO_APPRAISAL.get(lang)) } } @else {
                    table id="team" { thead { tr {
                        th { (t::ROLE.get(lang)) } th { (t::USERNAME.get(lang)) } th { (t::ORG.get(lang)) }
                        th.n { (t::SCORE.get(lang)) } th.n { (t::PEER_RANK.get(lang)) } th { (t::STATUS.get(lang)) }
                    } } tbody { @for a in &people { tr {
                        td { (word(&a.role, lang)) }
                        td { a href={ "/appraisal?period=" (period.code) "&user=" (a.username) } { (a.display_name) } " " span.muted { (a.username) } }
                        td { (a.org_name) }
                        td.n { (points(a.score_centi)) }
                        td.n { (a.peer_rank) " / " (a.peers) }
                        td { span.tag { (word(&a.status, lang)) } }
                    } } } }
                    p { a id="export-incentives" href={ "/appraisal/incentives.xlsx?period=" (period.code) } { (t::EXPORT_PAYROLL.get(lang)) } }
                    @if user.can(Permission::ConfirmAppraisal) && people.iter().any(|a| a.status == "computed") {
                        form method="post" action="/appraisal/confirm" {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="period" value=(period.code);
                            button type="submit" id="confirm-appraisals" { (t::CONFIRM_APPRAISALS.get(lang)) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout(lang, Some(&user), &csrf, t::APPRAISAL.get(lang), body).into_response())
}

/// `GET /api/appraisal?period=&user=`: the card and its lines, and (for
/// managers) their people's appraisals.
pub async fn api_get(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewAppraisal>,
    Query(cq): Query<CardQuery>,
) -> Result<Response, WebError> {
    let period = period_of(&cq, ctx.lang)?;
    let subject = whose(&state, &user, cq.user.as_deref()).await?;
    let card = q::of(&state.store, &period.code, subject).await?;
    let people = team(&state, &user, &period).await?;
    crate::context::audit_list(
        &state,
        &ctx,
        "appraisal.view",
        &period.code,
        people.len() + usize::from(card.is_some()),
    )
    .await?;
    let card = card.map(|(a, lines)| json!({"appraisal": a, "lines": lines}));
    let pay = iq::of(&state.store, &period.code, subject)
        .await?
        .map(|(i, lines)| json!({"incentive": i, "lines": lines}));
    Ok(
        Json(json!({"period": period.code, "card": card, "incentive": pay, "team": people}))
            .into_response(),
    )
}

/// The confirmation's form.
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    csrf: String,
    period: String,
}

impl HasCsrf for ConfirmForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

async fn confirm(state: &AppState, user: &User, lang: Lang, period: &str) -> Result<u64, WebError> {
    let p = Period::parse(period)
        .ok_or_else(|| WebError::BadRequest(format!("{}: {period}", t::PERIOD.get(lang))))?;
    Ok(ops::confirm(&state.store, &p, &user.username).await?)
}

/// `POST /appraisal/confirm`.
pub async fn form_confirm(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ConfirmAppraisal>,
    CsrfForm(f): CsrfForm<ConfirmForm>,
) -> Result<Response, PageError> {
    let path = format!("/appraisal?period={}", f.period);
    confirm(&state, &user, ctx.lang, &f.period)
        .await
        .page(&ctx, &path)?;
    Ok(Redirect::to(&path).into_response())
}

/// `POST /api/appraisal/confirm` with `period`.
pub async fn api_confirm(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ConfirmAppraisal>,
    _: ApiCsrf,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, WebError> {
    let period = crate::context::json_text(&body, "period").unwrap_or_default();
    let n = confirm(&state, &user, ctx.lang, &period).await?;
    Ok(Json(json!({"period": period, "confirmed": n})).into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/appraisal", get(page))
        .route("/appraisal/confirm", post(form_confirm))
        .route("/appraisal/incentives.xlsx", get(export))
        .route("/api/appraisal", get(api_get))
        .route("/api/appraisal/confirm", post(api_confirm))
}
