//! Head office's rules of the management loop, set in the browser without
//! code (考核与激励规则): each role's scorecard (an item per line, typed as
//! `panorama appraisal card --item` takes it), each channel's split of a
//! sale's credit, and each role's incentive rules. Executives only; every
//! change is checked by the OCRM rules (weights adding up to 100, shares
//! to 100 %, known indicators and classes) and audited by the store.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use panorama_domain::money::Money;
use panorama_domain::sales_credit::Part;
use panorama_ocrm::appraisal::{self as ops, ROLES};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::error::WebError;
use crate::extract::{ApiCsrf, CsrfForm, HasCsrf, Require, perm};
use crate::i18n::{self as t, word};
use crate::ui::{OrPage, PageError, layout};

/// A percent with up to two decimals, in basis points.
fn percent_bp(field: &str, text: &str) -> Result<i64, WebError> {
    Money::parse_major(text.trim())
        .map(Money::minor)
        .map_err(|_| WebError::BadRequest(format!("{field}: a percent, not {text:?}")))
}

/// An amount or a number of points with up to two decimals, in hundredths.
fn hundredths(field: &str, text: &str) -> Result<i64, WebError> {
    Money::parse_major(text.trim())
        .map(Money::minor)
        .map_err(|_| WebError::BadRequest(format!("{field}: a number, not {text:?}")))
}

/// A change of one rule, from the form or the JSON API.
#[derive(Debug, Deserialize)]
pub struct RuleChange {
    #[serde(default)]
    csrf: String,
    /// `card`, `split` or `incentive`.
    action: String,
    /// A scorecard's or incentive's role.
    #[serde(default)]
    role: String,
    /// A scorecard's items, one a line.
    #[serde(default)]
    items: String,
    /// A split's channel and its parts' percents.
    #[serde(default)]
    channel: String,
    #[serde(default)]
    seller: String,
    #[serde(default)]
    rm: String,
    #[serde(default)]
    referrer: String,
    /// An incentive's pool (yuan per head per month), threshold (points)
    /// and rates (`CLASS=PERCENT`, one a line).
    #[serde(default)]
    pool: String,
    #[serde(default)]
    threshold: String,
    #[serde(default)]
    rates: String,
}

impl HasCsrf for RuleChange {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Applies `c` as `actor`.
async fn apply(state: &AppState, c: &RuleChange, actor: &str) -> Result<(), WebError> {
    let store = &state.store;
    match c.action.as_str() {
        "card" => {
            let items = c
                .items
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(ops::parse_item)
                .collect::<Result<Vec<_>, _>>()?;
            ops::set_card(store, &c.role, &items, actor).await?;
        }
        "split" => {
            let mut shares = Vec::new();
            for (part, text) in [
                (Part::Seller, &c.seller),
                (Part::Rm, &c.rm),
                (Part::Referrer, &c.referrer),
            ] {
                if !text.trim().is_empty() {
                    shares.push((part, percent_bp(part.as_str(), text)?));
                }
            }
            panorama_ocrm::sales::set_rule(store, c.channel.trim(), &shares, actor).await?;
        }
        "incentive" => {
            let rates = c
                .rates
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (class, pct) = l.split_once('=').ok_or_else(|| {
                        WebError::BadRequest(format!("rates: CLASS=PERCENT, not {l:?}"))
                    })?;
                    Ok((class.trim().to_owned(), percent_bp("rate", pct)?))
                })
                .collect::<Result<Vec<_>, WebError>>()?;
            panorama_ocrm::incentives::set_rules(
                store,
                &c.role,
                hundredths("pool", &c.pool)?,
                hundredths("threshold", &c.threshold)?,
                &rates,
                actor,
            )
            .await?;
        }
        other => {
            return Err(WebError::BadRequest(format!(
                "action: card, split or incentive, not {other:?}"
            )));
        }
    }
    Ok(())
}

/// A role's incentive rules: pool (fen a head a month), threshold
/// (hundredths of a point), rates (basis points by class).
type Pay = (i64, i64, Vec<(String, i64)>);

/// The rules as they stand: each role's items as typed, each channel's
/// shares (percent), each role's incentive rules.
struct Rules {
    cards: BTreeMap<String, Vec<String>>,
    splits: BTreeMap<String, BTreeMap<String, i64>>,
    split_by: BTreeMap<String, String>,
    incentives: BTreeMap<String, Pay>,
}

async fn read(state: &AppState) -> Result<Rules, WebError> {
    let store = &state.store;
    let mut cards: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in panorama_store::appraisal::items(store).await? {
        let unit = ops::unit(store, &i).await?;
        cards
            .entry(i.role.clone())
            .or_default()
            .push(ops::item_text(&i, unit));
    }
    let mut splits: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let mut split_by = BTreeMap::new();
    for r in panorama_store::sales::rules(store).await? {
        split_by.insert(r.channel.clone(), r.updated_by.clone());
        splits
            .entry(r.channel)
            .or_default()
            .insert(r.part, r.share_bp);
    }
    let mut incentives: BTreeMap<String, Pay> = BTreeMap::new();
    for r in panorama_store::incentives::rules(store).await? {
        let e = incentives.entry(r.role).or_default();
        match r.kind.as_str() {
            "pool" => e.0 = r.value,
            "threshold" => e.1 = r.value,
            _ => e.2.push((r.product_class, r.value)),
        }
    }
    Ok(Rules {
        cards,
        splits,
        split_by,
        incentives,
    })
}

/// `GET /appraisal/rules`.
pub async fn page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::SetRules>,
) -> Result<Response, PageError> {
    let path = "/appraisal/rules";
    let lang = ctx.lang;
    let r = read(&state).await.page(&ctx, path)?;
    let csrf = ctx.csrf().await;
    let pct = |bp: i64| Money::from_minor(bp).to_string();
    let body = html! {
        p.muted { (t::RULES_HOW.get(lang)) }
        section id="rules-cards" {
            h2 { (t::SCORECARDS.get(lang)) }
            p.muted { code { "INDICATOR[/CLASS]=WEIGHT[@STANDARD][,lower][,floor=F][,cap=C]" } " — " (t::CARD_SYNTAX.get(lang)) }
            div.grid { @for role in ROLES {
                form method="post" action="/appraisal/rules" id={ "card-" (role) } {
                    h3 { (word(role, lang)) }
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="action" value="card";
                    input type="hidden" name="role" value=(role);
                    textarea name="items" id={ "card-items-" (role) } rows="7" cols="44" {
                        (r.cards.get(role).map(|v| v.join("\n")).unwrap_or_default())
                    }
                    br;
                    button type="submit" id={ "card-save-" (role) } { (t::SAVE.get(lang)) }
                }
            } }
        }
        section id="rules-splits" {
            h2 { (t::SPLIT_RULES.get(lang)) }
            table { thead { tr { th { (t::CHANNEL.get(lang)) } th.n { (word("seller", lang)) } th.n { (word("rm", lang)) } th.n { (word("referrer", lang)) } th { (t::SET_BY.get(lang)) } } }
            tbody { @for (channel, parts) in &r.splits { tr {
                td { (word(channel, lang)) " " span.muted { (channel) } }
                @for part in Part::ALL { td.n { (parts.get(part.as_str()).map_or_else(|| "—".to_owned(), |b| format!("{}%", pct(*b)))) } }
                td.muted { (r.split_by.get(channel).map_or("", String::as_str)) }
            } } } }
            form method="post" action="/appraisal/rules" id="split-form" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="action" value="split";
                label { (t::CHANNEL.get(lang)) " " input name="channel" id="split-channel" size="12" required placeholder="counter"; } " "
                label { (word("seller", lang)) " % " input name="seller" id="split-seller" size="5"; } " "
                label { (word("rm", lang)) " % " input name="rm" id="split-rm" size="5"; } " "
                label { (word("referrer", lang)) " % " input name="referrer" id="split-referrer" size="5"; } " "
                button type="submit" id="split-save" { (t::SAVE.get(lang)) }
            }
        }
        section id="rules-incentives" {
            h2 { (t::INCENTIVE_RULES.get(lang)) }
            div.grid { @for role in ROLES {
                @let (pool, threshold, rates) = r.incentives.get(role).cloned().unwrap_or_default();
                form method="post" action="/appraisal/rules" id={ "incentive-" (role) } {
                    h3 { (word(role, lang)) }
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="action" value="incentive";
                    input type="hidden" name="role" value=(role);
                    label { (t::POOL_PER_HEAD.get(lang)) " " input name="pool" id={ "pool-" (role) } size="10" value=(Money::from_minor(pool)); } br;
                    label { (t::THRESHOLD_POINTS.get(lang)) " " input name="threshold" id={ "threshold-" (role) } size="6" value=(Money::from_minor(threshold)); } br;
                    label { (t::RATES_BY_CLASS.get(lang)) br;
                        textarea name="rates" id={ "rates-" (role) } rows="4" cols="24" {
                            (rates.iter().map(|(c, b)| format!("{c}={}", pct(*b))).collect::<Vec<_>>().join("\n"))
                        }
                    }
                    br;
                    button type="submit" id={ "incentive-save-" (role) } { (t::SAVE.get(lang)) }
                }
            } }
        }
    };
    Ok(layout(lang, Some(&user), &csrf, t::RULES.get(lang), body).into_response())
}

/// `POST /appraisal/rules`.
pub async fn form(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::SetRules>,
    CsrfForm(c): CsrfForm<RuleChange>,
) -> Result<Response, PageError> {
    let path = "/appraisal/rules";
    apply(&state, &c, &user.username).await.page(&ctx, path)?;
    Ok(Redirect::to(path).into_response())
}

/// `GET /api/appraisal/rules`: the scorecards (items as typed), the split
/// rules (basis points) and the incentive rules.
pub async fn api_get(
    State(state): State<AppState>,
    _: Require<perm::SetRules>,
) -> Result<Response, WebError> {
    let r = read(&state).await?;
    let incentives: BTreeMap<String, serde_json::Value> = r
        .incentives
        .into_iter()
        .map(|(role, (pool, threshold, rates))| {
            (
                role,
                json!({"pool_minor": pool, "threshold_centi": threshold, "rates_bp": rates}),
            )
        })
        .collect();
    Ok(
        Json(json!({"cards": r.cards, "splits_bp": r.splits, "incentives": incentives}))
            .into_response(),
    )
}

/// `POST /api/appraisal/rules` with a [`RuleChange`] as JSON.
pub async fn api_set(
    State(state): State<AppState>,
    Require { user, .. }: Require<perm::SetRules>,
    _: ApiCsrf,
    Json(c): Json<RuleChange>,
) -> Result<Response, WebError> {
    apply(&state, &c, &user.username).await?;
    Ok(Json(json!({"action": c.action, "saved": true})).into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/appraisal/rules", get(page).post(form))
        .route("/api/appraisal/rules", get(api_get).post(api_set))
}
