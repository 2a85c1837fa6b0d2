//! Cross-line referrals (公私联动) for RMs and branch managers: from the 360
//! of one of their customers, refer a related customer (a company's
//! executives and payroll employees, a person's company) to its RM; the
//! receiving RM accepts (an opportunity of theirs) or declines; both follow
//! the outcome on `/referrals`. Won referrals count in the referrer's
//! targets (`referrals_won`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use panorama_store::referrals::{self, NewReferral, ReferralRow, Refusal};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::User;
use crate::error::WebError;
use crate::extract::{ApiCsrf, CsrfForm, HasCsrf, Require, perm};
use crate::i18n::{self as t, Lang};
use crate::mask::{self, Level};
use crate::ui::{OrPage, PageError, layout};

fn refusal(r: Refusal, lang: Lang) -> WebError {
    match r {
        Refusal::NotFound => WebError::NotFound,
        Refusal::NotRelated => WebError::BadRequest(t::NOT_RELATED.get(lang).to_owned()),
        Refusal::NoRm => WebError::Conflict(t::NO_RM.get(lang).to_owned()),
        Refusal::OwnCustomer => WebError::Conflict(t::OWN_CUSTOMER.get(lang).to_owned()),
        Refusal::Product => WebError::BadRequest(t::UNKNOWN_PRODUCT.get(lang).to_owned()),
    }
}

fn blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A referral, from the 360's form or JSON.
#[derive(Debug, Deserialize)]
pub struct ReferInput {
    /// The referred customer.
    customer: i64,
    product_code: Option<String>,
    note: Option<String>,
}

async fn refer(
    state: &AppState,
    user: &User,
    lang: Lang,
    via: i64,
    input: &ReferInput,
) -> Result<i64, WebError> {
    let note = blank(&input.note);
    if note.is_some_and(|n| n.chars().count() > 500) {
        return Err(WebError::BadRequest(t::NOTES.get(lang).to_owned()));
    }
    referrals::create(
        &state.store,
        &user.scope(),
        &NewReferral {
            via,
            customer: input.customer,
            product: blank(&input.product_code),
            note,
            from_user: user.id,
            actor: &user.username,
        },
    )
    .await?
    .map_err(|r| refusal(r, lang))
}

/// Body of `POST /api/referrals`.
#[derive(Debug, Deserialize)]
pub struct ReferBody {
    via: i64,
    #[serde(flatten)]
    input: ReferInput,
}

/// `POST /api/referrals`: `via` (your customer), `customer` (related to
/// it), `product_code`, `note`.
pub async fn api_refer(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::Refer>,
    _: ApiCsrf,
    Json(body): Json<ReferBody>,
) -> Result<Response, WebError> {
    let id = refer(&state, &user, ctx.lang, body.via, &body.input).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

fn masked(user: &User, rows: Vec<ReferralRow>) -> Vec<ReferralRow> {
    let level = Level::for_role(user.role);
    rows.into_iter()
        .map(|r| ReferralRow {
            customer_name: mask::name(&r.customer_name, &r.customer_no, level),
            ..r
        })
        .collect()
}

/// `GET /api/referrals`: referrals to the caller and by them.
pub async fn api_list(
    State(state): State<AppState>,
    Require { user, .. }: Require<perm::Refer>,
) -> Result<Response, WebError> {
    let incoming = masked(&user, referrals::list(&state.store, user.id, false).await?);
    let outgoing = masked(&user, referrals::list(&state.store, user.id, true).await?);
    Ok(Json(json!({"incoming": incoming, "outgoing": outgoing})).into_response())
}

/// A decision on a referral received.
#[derive(Debug, Default, Deserialize)]
pub struct DecideInput {
    product_code: Option<String>,
    note: Option<String>,
}

async fn decide(
    state: &AppState,
    user: &User,
    lang: Lang,
    id: i64,
    action: &str,
    input: &DecideInput,
) -> Result<Option<i64>, WebError> {
    match action {
        "accept" => referrals::accept(
            &state.store,
            id,
            user.id,
            blank(&input.product_code),
            &user.username,
        )
        .await?
        .map(Some)
        .map_err(|r| refusal(r, lang)),
        "decline" => {
            let note = blank(&input.note)
                .ok_or_else(|| WebError::BadRequest(t::REASON.get(lang).to_owned()))?;
            referrals::decline(&state.store, id, user.id, note, &user.username)
                .await?
                .map(|()| None)
                .map_err(|r| refusal(r, lang))
        }
        _ => Err(WebError::NotFound),
    }
}

/// `POST /api/referrals/{id}/accept|decline`.
pub async fn api_decide(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::Refer>,
    _: ApiCsrf,
    Path((id, action)): Path<(i64, String)>,
    body: Option<Json<serde_json::Value>>,
) -> Result<Response, WebError> {
    let body = body.map(|Json(v)| v).unwrap_or_default();
    let input = DecideInput {
        product_code: body["product_code"].as_str().map(str::to_owned),
        note: body["note"].as_str().map(str::to_owned),
    };
    let opportunity = decide(&state, &user, ctx.lang, id, &action, &input).await?;
    Ok(Json(json!({"id": id, "opportunity": opportunity})).into_response())
}

/// The 360's form: every value text (a form cannot be flattened into
/// numeric fields — the referral form always answered 422 that way).
#[derive(Debug, Deserialize)]
pub struct ReferForm {
    csrf: String,
    customer: String,
    product_code: Option<String>,
    note: Option<String>,
}

/// `POST /customers/{id}/referrals`.
pub async fn form_refer(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::Refer>,
    Path(via): Path<i64>,
    CsrfForm(f): CsrfForm<ReferForm>,
) -> Result<Response, PageError> {
    let path = format!("/customers/{via}");
    let customer = f
        .customer
        .trim()
        .parse::<i64>()
        .map_err(|_| WebError::BadRequest(format!("customer: {}", f.customer)))
        .page(&ctx, &path)?;
    let input = ReferInput {
        customer,
        product_code: f.product_code,
        note: f.note,
    };
    refer(&state, &user, ctx.lang, via, &input)
        .await
        .page(&ctx, &path)?;
    Ok(Redirect::to("/referrals").into_response())
}

/// A decision's form.
#[derive(Debug, Deserialize)]
pub struct DecideForm {
    csrf: String,
    #[serde(flatten)]
    input: DecideInput,
}

impl HasCsrf for DecideForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl HasCsrf for ReferForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /referrals/{id}/accept|decline`.
pub async fn form_decide(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::Refer>,
    Path((id, action)): Path<(i64, String)>,
    CsrfForm(f): CsrfForm<DecideForm>,
) -> Result<Response, PageError> {
    let path = "/referrals";
    decide(&state, &user, ctx.lang, id, &action, &f.input)
        .await
        .page(&ctx, path)?;
    Ok(Redirect::to(path).into_response())
}

/// The 360's referral form: the customer's related customers to refer.
pub(crate) fn form(
    via: i64,
    related: &[panorama_store::ocrm::RelatedRow],
    csrf: &str,
    lang: Lang,
) -> Markup {
    html! {
        @if !related.is_empty() {
            form id="referral-form" method="post" action={ "/customers/" (via) "/referrals" } {
                input type="hidden" name="csrf" value=(csrf);
                select name="customer" id="referral-customer" { @for r in related {
                    option value=(r.customer_id) { (r.name) " · " (r.kind) }
                } } " "
                input name="note" size="16" placeholder=(t::NOTES.get(lang)); " "
                button type="submit" id="save-referral" { (t::REFER.get(lang)) }
            }
        }
    }
}

fn table(
    rows: &[ReferralRow],
    incoming: bool,
    csrf: &str,
    lang: Lang,
    products: &[(String, String, String)],
) -> Markup {
    html! {
        table { tbody { @for r in rows { tr {
            td { "#" (r.id) } td { (r.customer_name) " " span.muted { (r.customer_no) } }
            td { (if incoming { &r.from_user } else { &r.to_user }) }
            td { (r.product_code.as_deref().unwrap_or("—")) } td.muted { (r.note.as_deref().unwrap_or("")) }
            td { span.tag { (r.status) } @if let Some(o) = &r.outcome { " " span.tag { (crate::pipeline::stage_name(o).get(lang)) } } }
            td { @if incoming && r.status == "open" {
                form.inline method="post" action={ "/referrals/" (r.id) "/accept" } {
                    input type="hidden" name="csrf" value=(csrf);
                    @if r.product_code.is_none() {
                        select name="product_code" { @for (code, zh, en) in products { option value=(code) { (if lang == Lang::Zh { zh } else { en }) } } }
                    }
                    button type="submit" id={ "accept-referral-" (r.id) } { (t::ACCEPT.get(lang)) }
                } " "
                form.inline method="post" action={ "/referrals/" (r.id) "/decline" } {
                    input type="hidden" name="csrf" value=(csrf);
                    input name="note" required size="10" placeholder=(t::REASON.get(lang));
                    button type="submit" { (t::DECLINE.get(lang)) }
                }
            } }
        } } } }
    }
}

/// `GET /referrals`: received (accept or decline) and made (with outcome).
pub async fn page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::Refer>,
) -> Result<Response, PageError> {
    let path = "/referrals";
    let user = &user;
    let lang = ctx.lang;
    let incoming = masked(
        user,
        referrals::list(&state.store, user.id, false)
            .await
            .page(&ctx, path)?,
    );
    let outgoing = masked(
        user,
        referrals::list(&state.store, user.id, true)
            .await
            .page(&ctx, path)?,
    );
    let products = panorama_store::pipeline::products(&state.store)
        .await
        .page(&ctx, path)?;
    let csrf = ctx.csrf().await;
    let body = html! {
        section id="incoming" { h2 { (t::INCOMING.get(lang)) } (table(&incoming, true, &csrf, lang, &products)) }
        section id="outgoing" { h2 { (t::OUTGOING.get(lang)) } (table(&outgoing, false, &csrf, lang, &products)) }
    };
    Ok(layout(lang, Some(user), &csrf, t::REFERRALS.get(lang), body).into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/referrals", get(page))
        .route("/referrals/{id}/{action}", post(form_decide))
        .route("/customers/{id}/referrals", post(form_refer))
        .route("/api/referrals", get(api_list).post(api_refer))
        .route("/api/referrals/{id}/{action}", post(api_decide))
}
