//! The service desk view (来电服务): given the caller's number the customer
//! is identified (the same indexed lookup as the screen pop), the recent
//! events that likely explain the call are listed (a maturity, a large
//! debit, an open complaint, the batch's alerts, a high churn score), a
//! retention offer within the allowed rate band is suggested for a customer
//! at risk, and the next best offer closes the call — with the contact and
//! complaint forms at hand.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{Days, NaiveDate};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Permission;
use crate::context::Ctx;
use crate::customer_pages::{customer_table, rule_name};
use crate::customers::{self, Customer360};
use crate::error::WebError;
use crate::i18n::{self as t, Lang, Text};
use crate::mask::Level;
use crate::ui::{OrPage, PageError, layout, yuan};

/// A debit at least this large (fen) in the week before is a likely reason.
const LARGE_DEBIT_MINOR: i64 = 5_000_000;

/// A churn score at least this high calls for a retention offer.
const CHURN_AT_RISK: f64 = 0.3;

/// How far above the standard rate a retention offer may go, by product
/// class (basis points) — the band the desk may grant without approval.
const RETENTION_BAND_BP: &[(&str, i64)] = &[("deposit", 30), ("wealth", 20)];

/// A likely reason for the call.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reason {
    /// What kind of event.
    pub kind: &'static str,
    /// What happened (zh).
    pub zh: String,
    /// What happened (en).
    pub en: String,
}

/// A retention offer: renew a maturing product above its standard rate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Retention {
    /// The account.
    pub account_no: String,
    /// Product.
    pub product: String,
    /// Standard rate, bp.
    pub standard_bp: i64,
    /// Most the desk may offer, bp.
    pub offer_bp: i64,
    /// The bank's band over the standard rate for the product's class, bp.
    pub band_bp: i64,
    /// The customer's value and rank (bp) it was scaled by, when valued.
    pub value: Option<(i64, i64)>,
}

fn kind_name(kind: &str) -> Text {
    match kind {
        "maturity" => t::REASON_MATURITY,
        "large_debit" => t::REASON_LARGE_DEBIT,
        "complaint" => t::REASON_COMPLAINT,
        "churn" => t::REASON_CHURN,
        _ => t::ALERTS,
    }
}

/// The events around `day` that likely explain a call.
fn reasons(v: &Customer360, day: NaiveDate) -> Vec<Reason> {
    let mut out = Vec::new();
    let (from, to) = (day - Days::new(7), day + Days::new(30));
    for a in &v.accounts {
        let Some(due) = a
            .matures_on
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        else {
            continue;
        };
        if a.status == "active" && from <= due && due <= to {
            let name = a
                .product_name
                .clone()
                .unwrap_or_else(|| a.product_code.clone());
            out.push(Reason {
                kind: "maturity",
                zh: format!(
                    "{name}（{}）于 {due} 到期，余额 {} 元",
                    a.account_no,
                    yuan(a.balance_minor)
                ),
                en: format!(
                    "{} ({}) matures on {due}, balance {} yuan",
                    a.product_name_en.as_deref().unwrap_or(&a.product_code),
                    a.account_no,
                    yuan(a.balance_minor)
                ),
            });
        }
    }
    let latest = v
        .recent
        .iter()
        .map(|x| x.booked_at.get(..10).unwrap_or(""))
        .max()
        .unwrap_or("");
    let week_before = NaiveDate::parse_from_str(latest, "%Y-%m-%d")
        .map(|d| (d - Days::new(7)).to_string())
        .unwrap_or_default();
    for x in &v.recent {
        if x.direction == "D"
            && x.amount_minor >= LARGE_DEBIT_MINOR
            && x.booked_at.as_str() >= week_before.as_str()
        {
            out.push(Reason {
                kind: "large_debit",
                zh: format!(
                    "{} 支出 {} 元（{}，{}）",
                    crate::ui::when(&x.booked_at),
                    yuan(Some(x.amount_minor)),
                    t::word(&x.channel, Lang::Zh),
                    x.account_no
                ),
                en: format!(
                    "{} debit of {} yuan ({}, {})",
                    crate::ui::when(&x.booked_at),
                    yuan(Some(x.amount_minor)),
                    t::word(&x.channel, Lang::En),
                    x.account_no
                ),
            });
        }
    }
    for k in v
        .complaints
        .iter()
        .filter(|k| panorama_ocrm::complaints::is_unresolved(&k.status))
    {
        out.push(Reason {
            kind: "complaint",
            zh: format!(
                "#{} {}（{}）",
                k.id,
                k.category,
                crate::complaints::status_name(&k.status).get(Lang::Zh)
            ),
            en: format!(
                "#{} {} ({})",
                k.id,
                k.category,
                crate::complaints::status_name(&k.status).get(Lang::En)
            ),
        });
    }
    let recent_alerts = (day - Days::new(30)).to_string();
    for a in v.alerts.iter().filter(|a| a.as_of >= recent_alerts) {
        out.push(Reason {
            kind: "alert",
            zh: format!("{}：{}", rule_name(&a.rule, Lang::Zh), a.message),
            en: format!(
                "{}: {}",
                rule_name(&a.rule, Lang::En),
                a.message_en.as_deref().unwrap_or(&a.message)
            ),
        });
    }
    if let Some(churn) = v
        .scores
        .iter()
        .find(|s| s.kind == "churn" && s.score >= CHURN_AT_RISK)
    {
        out.push(Reason {
            kind: "churn",
            zh: format!("流失模型评分 {:.0}%", 100.0 * churn.score),
            en: format!("churn score {:.0}%", 100.0 * churn.score),
        });
    }
    out
}

/// A maturing product is offered for renewal up to the band over its
/// standard rate; so is any term product of a customer at risk (a churn
/// score, an AUM decline alert, or money seen leaving for another bank).
fn retention(
    v: &Customer360,
    reasons: &[Reason],
    rates: &[(String, Option<i64>)],
) -> Option<Retention> {
    let at_risk = reasons.iter().any(|r| r.kind == "churn")
        || v.alerts.iter().any(|a| {
            matches!(
                a.rule.as_str(),
                "aum_decline" | "outbound_transfer" | "maturity_outflow"
            )
        });
    let maturing = |no: &str| {
        reasons
            .iter()
            .any(|r| r.kind == "maturity" && r.zh.contains(no))
    };
    v.accounts
        .iter()
        .filter(|a| a.status == "active" && a.matures_on.is_some())
        .filter(|a| maturing(&a.account_no) || at_risk)
        .find_map(|a| {
            let band = RETENTION_BAND_BP
                .iter()
                .find(|(c, _)| Some(*c) == a.class.as_deref())?
                .1;
            let standard = rates.iter().find(|(code, _)| *code == a.product_code)?.1?;
            // Within the band, as far as the customer's value goes; the
            // whole band before the first valuation.
            let premium = match &v.value {
                Some((value, _)) => panorama_domain::value::retention_premium_bp(
                    band,
                    value.rank_bp,
                    value.clv_minor,
                    a.balance_minor.unwrap_or(0),
                    term_months(&a.opened_on, a.matures_on.as_deref()),
                ),
                None => band,
            };
            Some(Retention {
                account_no: a.account_no.clone(),
                product: a
                    .product_name
                    .clone()
                    .unwrap_or_else(|| a.product_code.clone()),
                standard_bp: standard,
                offer_bp: standard + premium,
                band_bp: band,
                value: v.value.as_ref().map(|(x, _)| (x.clv_minor, x.rank_bp)),
            })
        })
}

/// Months from `opened` to `matures` (0 when either is unreadable).
fn term_months(opened: &str, matures: Option<&str>) -> i64 {
    let day = |s: &str| NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok();
    match (day(opened), matures.and_then(day)) {
        (Some(a), Some(b)) => panorama_domain::months_between(a, b).max(0),
        _ => 0,
    }
}

/// What the desk tells about a caller.
struct Assessment {
    view: Customer360,
    reasons: Vec<Reason>,
    retention: Option<Retention>,
}

/// The caller's 360 (audited as a view), the likely reasons for the call
/// around the data's date, and the retention offer.
async fn assess(
    state: &AppState,
    ctx: &Ctx,
    level: Level,
    id: i64,
) -> Result<Assessment, WebError> {
    let view = customers::customer_360(state, ctx, id, level, None).await?;
    let day = view
        .features
        .as_ref()
        .and_then(|f| NaiveDate::parse_from_str(&f.as_of, "%Y-%m-%d").ok())
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let reasons = reasons(&view, day);
    let rates = panorama_store::products::rates(&state.store).await?;
    let retention = retention(&view, &reasons, &rates);
    Ok(Assessment {
        view,
        reasons,
        retention,
    })
}

/// Who the number belongs to: one customer, none, or several.
enum Caller {
    One(i64),
    Unknown,
    Several(Vec<customers::ListItem>),
}

async fn identify(state: &AppState, ctx: &Ctx, phone: &str) -> Result<Caller, WebError> {
    let mut found = customers::search(state, ctx, phone, 20).await?;
    Ok(match found.len() {
        0 => Caller::Unknown,
        1 => Caller::One(found.remove(0).id),
        _ => Caller::Several(found),
    })
}

/// The desk's query: the caller's number, or a customer picked from a list.
#[derive(Debug, Deserialize)]
pub struct DeskQuery {
    phone: Option<String>,
    customer: Option<i64>,
}

fn percent_bp(bp: i64) -> String {
    format!("{}.{:02}%", bp / 100, bp % 100)
}

fn form(lang: Lang, phone: &str) -> Markup {
    html! {
        form method="get" action="/service" {
            label { (t::CALLER_NUMBER.get(lang)) " " input name="phone" id="caller" size="14" value=(phone); } " "
            button type="submit" id="identify" { (t::IDENTIFY.get(lang)) }
        }
    }
}

/// `GET /service?phone=` (or `?customer=`).
pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DeskQuery>,
) -> Result<Response, PageError> {
    let path = "/service";
    let user = ctx
        .require(Permission::RecordContact)
        .page(&ctx, path)?
        .clone();
    let lang = ctx.lang;
    let csrf = ctx.csrf().await;
    let phone = q.phone.as_deref().map(str::trim).unwrap_or("").to_owned();
    let customer = match q.customer {
        Some(id) => Some(id),
        None if phone.is_empty() => None,
        None => match identify(&state, &ctx, &phone).await.page(&ctx, path)? {
            Caller::One(id) => Some(id),
            Caller::Unknown => {
                let body = html! { (form(lang, &phone)) p.err id="unknown-caller" { (t::UNKNOWN_CALLER.get(lang)) } };
                return Ok(
                    layout(lang, Some(&user), &csrf, t::SERVICE_DESK.get(lang), body)
                        .into_response(),
                );
            }
            Caller::Several(many) => {
                let body = html! { (form(lang, &phone)) section id="results" { (customer_table(&state, lang, &many)) } };
                return Ok(
                    layout(lang, Some(&user), &csrf, t::SERVICE_DESK.get(lang), body)
                        .into_response(),
                );
            }
        },
    };
    let Some(id) = customer else {
        let body = form(lang, &phone);
        return Ok(
            layout(lang, Some(&user), &csrf, t::SERVICE_DESK.get(lang), body).into_response(),
        );
    };
    let Assessment {
        view: v,
        reasons: found,
        retention: offer,
    } = assess(&state, &ctx, Level::for_role(user.role), id)
        .await
        .page(&ctx, path)?;
    let best = v
        .scores
        .iter()
        .filter(|m| m.kind.starts_with("uptake:"))
        .max_by(|a, b| a.score.total_cmp(&b.score));
    let p = &v.profile;
    let body = html! {
        (form(lang, &phone))
        section id="caller-card" {
            h2 { (p.name) " " span.muted { (p.customer_no) } }
            p { (t::TIER.get(lang)) " " (v.features.as_ref().and_then(|f| f.tier.as_deref()).unwrap_or("—"))
                " · " (t::AUM.get(lang)) " " (yuan(v.features.as_ref().map(|f| f.aum_minor)))
                " · " a href={ "/customers/" (p.id) } id="open-360" { (t::OPEN_360.get(lang)) } }
        }
        div.grid {
            section id="reasons" {
                h2 { (t::LIKELY_REASONS.get(lang)) }
                @if found.is_empty() { p.muted { (t::NO_REASONS.get(lang)) } }
                ul { @for r in &found { li { span.tag { (kind_name(r.kind).get(lang)) } (if lang == Lang::Zh { &r.zh } else { &r.en }) } } }
            }
            section id="offers" {
                @if let Some(o) = &offer {
                    h2 { (t::RETENTION_OFFER.get(lang)) }
                    p id="retention" { (o.product) " " span.muted { (o.account_no) } ": " (t::RENEW_AT.get(lang)) " "
                        strong { (percent_bp(o.offer_bp)) } " (" (t::STANDARD_RATE.get(lang)) " " (percent_bp(o.standard_bp)) ")" }
                    p.muted id="retention-basis" {
                        (t::BAND_LIMIT.get(lang)) " +" (o.band_bp) "bp · "
                        @match o.value {
                            Some((clv, rank)) => { (t::CLV.get(lang)) " " (yuan(Some(clv))) " (" (crate::customer_pages::top_share(rank, lang)) ") → +" (o.offer_bp - o.standard_bp) "bp" },
                            None => { (t::NOT_VALUED.get(lang)) },
                        }
                    }
                }
                @if let Some(b) = best {
                    h2 { (t::NEXT_BEST.get(lang)) }
                    p id="next-best" { (b.kind.trim_start_matches("uptake:")) " (" (format!("{:.1}%", 100.0 * b.score)) ")" }
                }
                @if !v.offers.is_empty() {
                    h2 { (t::LIVE_OFFERS.get(lang)) }
                    ul id="live-offers" { @for o in &v.offers { li {
                        (o.name) " · " (o.arm)
                        @if let Some(p) = &o.product_code { " · " (p) }
                        @if let Some(s) = &o.script { br; span.muted { (s) } }
                    } } }
                }
            }
        }
        div.grid {
            section id="contacts" {
                h2 { (t::RECORD_CONTACT.get(lang)) }
                form id="contact-form" method="post" action={ "/customers/" (p.id) "/contacts" } {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="channel" value="phone";
                    input name="outcome" id="outcome" required placeholder=(t::OUTCOME.get(lang)) size="14"; " "
                    input name="notes" placeholder=(t::NOTES.get(lang)) size="20"; " "
                    button type="submit" id="save-contact" { (t::RECORD_CONTACT.get(lang)) }
                }
            }
            @if user.can(Permission::HandleComplaints) {
                section id="complaint" {
                    h2 { (t::NEW_COMPLAINT.get(lang)) }
                    (crate::complaints::new_form(p.id, &csrf, lang))
                }
            }
        }
    };
    Ok(layout(lang, Some(&user), &csrf, t::SERVICE_DESK.get(lang), body).into_response())
}

/// `GET /api/service?phone=`: the caller, the likely reasons, the offers.
pub async fn api(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DeskQuery>,
) -> Result<Response, WebError> {
    let user = ctx.require(Permission::RecordContact)?.clone();
    let id = match q.customer {
        Some(id) => id,
        None => match identify(&state, &ctx, q.phone.as_deref().unwrap_or("").trim()).await? {
            Caller::One(id) => id,
            Caller::Unknown => return Err(WebError::NotFound),
            Caller::Several(many) => {
                return Ok(axum::Json(serde_json::json!({"candidates": many})).into_response());
            }
        },
    };
    let Assessment {
        view: v,
        reasons: found,
        retention: offer,
    } = assess(&state, &ctx, Level::for_role(user.role), id).await?;
    let best = v
        .scores
        .iter()
        .filter(|m| m.kind.starts_with("uptake:"))
        .max_by(|a, b| a.score.total_cmp(&b.score))
        .map(|b| serde_json::json!({"product_class": b.kind.trim_start_matches("uptake:"), "score": b.score}));
    Ok(axum::Json(serde_json::json!({
        "customer": {"id": v.profile.id, "customer_no": v.profile.customer_no, "name": v.profile.name},
        "reasons": found, "retention": offer, "next_best": best, "campaign_offers": v.offers,
    }))
    .into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/service", get(page))
        .route("/api/service", get(api))
}
