//! Sales registration (业绩登记) in the workbench: RMs, tellers and agents
//! register the sales the systems do not show and follow what is credited
//! to them (every credit version, why), and dispute a credit; branch
//! managers approve entries, settle disputes and adjust splits of their org
//! units' sales. Names masked by role; every decision audited by the store.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use maud::{Markup, html};
use panorama_domain::money::Money;
use panorama_ocrm::sales::{self as ops, Entry, Settlement};
use panorama_store::sales::{self as q, CreditRow, SaleFilter, SaleRow};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{Permission, User};
use crate::error::WebError;
use crate::extract::{ApiCsrf, CsrfForm, HasCsrf, Require, perm};
use crate::i18n::{self as t, Lang, word};
use crate::mask::{self, Level};
use crate::ui::{OrPage, PageError, layout, yuan};

fn blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn masked(user: &User, s: SaleRow) -> SaleRow {
    SaleRow {
        customer_name: mask::name(&s.customer_name, &s.customer_no, Level::for_role(user.role)),
        ..s
    }
}

fn percent(bp: i64) -> String {
    format!("{}%", Money::from_minor(bp))
}

/// `login=percent,…` as `(login, bp)` lines.
fn split_lines(s: &str) -> Result<Vec<(String, i64)>, WebError> {
    s.split([',', '，'])
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (login, pct) = p
                .split_once('=')
                .ok_or_else(|| WebError::BadRequest(format!("{p}: login=percent")))?;
            let bp = Money::parse_major(pct.trim())
                .map_err(|_| WebError::BadRequest(format!("{pct}: a percentage")))?
                .minor();
            Ok((login.trim().to_owned(), bp))
        })
        .collect()
}

/// A sale entered in the workbench (form or JSON; every value text).
#[derive(Debug, Default, Deserialize)]
pub struct EntryInput {
    customer_no: String,
    product_code: String,
    /// Yuan.
    amount: String,
    /// YYYY-MM-DD; today when blank.
    sold_on: Option<String>,
    account_no: Option<String>,
    referrer: Option<String>,
    note: Option<String>,
}

async fn enter(state: &AppState, user: &User, input: &EntryInput) -> Result<i64, WebError> {
    let amount_minor = Money::parse_major(input.amount.trim())
        .map_err(|_| WebError::BadRequest(format!("amount: {}", input.amount)))?
        .minor();
    let today = chrono::Local::now().date_naive();
    let sold_on = match blank(&input.sold_on) {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| WebError::BadRequest(format!("sold_on: {d}")))?,
        None => today,
    };
    let e = Entry {
        customer_no: input.customer_no.trim(),
        product: input.product_code.trim(),
        amount_minor,
        sold_on,
        account_no: blank(&input.account_no),
        referrer: blank(&input.referrer),
        note: blank(&input.note),
    };
    Ok(ops::enter(&state.store, &user.username, &e, today).await?)
}

/// Whether `user` may see sale `s`: credited in any version, its enterer
/// or seller, or a branch manager of its org units.
fn may_see(user: &User, s: &SaleRow, credits: &[CreditRow]) -> bool {
    credits.iter().any(|c| c.user_id == user.id)
        || s.entered_by == user.username
        || s.seller.as_deref() == Some(user.username.as_str())
        || (user.can(Permission::ApproveSales)
            && s.org_path
                .as_deref()
                .is_some_and(|p| p.starts_with(&user.org_path)))
}

async fn visible(
    state: &AppState,
    user: &User,
    id: i64,
) -> Result<(SaleRow, Vec<CreditRow>), WebError> {
    let s = q::get(&state.store, id).await?.ok_or(WebError::NotFound)?;
    let credits = q::credits(&state.store, id).await?;
    if !may_see(user, &s, &credits) {
        return Err(WebError::NotFound);
    }
    Ok((masked(user, s), credits))
}

/// What the page and `GET /api/sales` show a user: their sales, and for a
/// branch manager the entries and disputes of their org units.
struct Lists {
    mine: Vec<SaleRow>,
    pending: Vec<SaleRow>,
    disputes: Vec<q::DisputeRow>,
}

/// The caller's sales (sold from `from` to `to` when given: a scorecard's
/// drill-down to a period), and a manager's queues.
async fn lists(
    state: &AppState,
    user: &User,
    (from, to): (Option<&str>, Option<&str>),
) -> Result<Lists, WebError> {
    let mine = q::list(
        &state.store,
        &SaleFilter {
            involving: Some((user.id, &user.username)),
            from,
            to,
            ..SaleFilter::default()
        },
        500,
    )
    .await?;
    let (pending, disputes) = if user.can(Permission::ApproveSales) {
        let pending = q::list(
            &state.store,
            &SaleFilter {
                under: Some(&user.org_path),
                status: Some("pending"),
                ..SaleFilter::default()
            },
            200,
        )
        .await?;
        let disputes = q::disputes(&state.store, Some(&user.org_path), Some("open")).await?;
        (pending, disputes)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(Lists {
        mine: mine.into_iter().map(|s| masked(user, s)).collect(),
        pending: pending.into_iter().map(|s| masked(user, s)).collect(),
        disputes,
    })
}

/// `GET /api/sales`: the caller's sales, and a branch manager's entries
/// awaiting approval and open disputes. Audited as a list read.
pub async fn api_list(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::RegisterSales>,
) -> Result<Response, WebError> {
    let l = lists(&state, &user, (None, None)).await?;
    crate::context::audit_list(
        &state,
        &ctx,
        "sales.list",
        "",
        l.mine.len() + l.pending.len(),
    )
    .await?;
    Ok(Json(json!({"mine": l.mine, "pending": l.pending, "disputes": l.disputes})).into_response())
}

/// `POST /api/sales`: `customer_no`, `product_code`, `amount` (yuan),
/// `sold_on`, `account_no`, `referrer`, `note`; 201 with the id.
pub async fn api_enter(
    State(state): State<AppState>,
    Require { user, .. }: Require<perm::RegisterSales>,
    _: ApiCsrf,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, WebError> {
    let text = |k: &str| crate::context::json_text(&body, k);
    let input = EntryInput {
        customer_no: text("customer_no").unwrap_or_default(),
        product_code: text("product_code").unwrap_or_default(),
        amount: text("amount").unwrap_or_default(),
        sold_on: text("sold_on"),
        account_no: text("account_no"),
        referrer: text("referrer"),
        note: text("note"),
    };
    let id = enter(&state, &user, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "status": "pending"})),
    )
        .into_response())
}

/// `GET /api/sales/{id}`: the sale and every credit version.
pub async fn api_get(
    State(state): State<AppState>,
    Require { user, .. }: Require<perm::RegisterSales>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let (s, credits) = visible(&state, &user, id).await?;
    Ok(Json(json!({"sale": s, "credits": credits})).into_response())
}

/// An action on a sale (form or JSON).
#[derive(Debug, Default, Deserialize)]
pub struct ActionInput {
    /// Why (a rejection, a dispute, an adjustment, a settlement).
    reason: Option<String>,
    /// A new split: `login=percent,…`.
    split: Option<String>,
}

async fn act(
    state: &AppState,
    user: &User,
    lang: Lang,
    id: i64,
    action: &str,
    input: &ActionInput,
) -> Result<(), WebError> {
    let reason = blank(&input.reason);
    let need_reason = || WebError::BadRequest(t::REASON.get(lang).to_owned());
    match action {
        "approve" => {
            ops::decide(&state.store, id, true, reason, &user.username).await?;
        }
        "reject" => {
            ops::decide(
                &state.store,
                id,
                false,
                Some(reason.ok_or_else(need_reason)?),
                &user.username,
            )
            .await?;
        }
        "dispute" => {
            ops::dispute(
                &state.store,
                id,
                &user.username,
                reason.ok_or_else(need_reason)?,
            )
            .await?;
        }
        "adjust" => {
            let lines = split_lines(blank(&input.split).unwrap_or(""))?;
            let refs: Vec<(&str, i64)> = lines.iter().map(|(l, b)| (l.as_str(), *b)).collect();
            ops::adjust(
                &state.store,
                id,
                &user.username,
                &refs,
                reason.ok_or_else(need_reason)?,
            )
            .await?;
        }
        _ => return Err(WebError::NotFound),
    }
    Ok(())
}

/// `POST /api/sales/{id}/approve|reject|dispute|adjust` with `reason` and
/// (adjust) `split`.
pub async fn api_act(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::RegisterSales>,
    _: ApiCsrf,
    Path((id, action)): Path<(i64, String)>,
    body: Option<Json<serde_json::Value>>,
) -> Result<Response, WebError> {
    let body = body.map(|Json(v)| v).unwrap_or_default();
    let input = ActionInput {
        reason: crate::context::json_text(&body, "reason"),
        split: crate::context::json_text(&body, "split"),
    };
    act(&state, &user, ctx.lang, id, &action, &input).await?;
    Ok(Json(json!({"id": id})).into_response())
}

async fn settle(
    state: &AppState,
    user: &User,
    lang: Lang,
    id: i64,
    input: &ActionInput,
) -> Result<(), WebError> {
    let reason =
        blank(&input.reason).ok_or_else(|| WebError::BadRequest(t::REASON.get(lang).to_owned()))?;
    match blank(&input.split) {
        Some(split) => {
            let lines = split_lines(split)?;
            let refs: Vec<(&str, i64)> = lines.iter().map(|(l, b)| (l.as_str(), *b)).collect();
            ops::resolve(
                &state.store,
                id,
                &user.username,
                &Settlement::Split(&refs, reason),
            )
            .await?;
        }
        None => ops::resolve(&state.store, id, &user.username, &Settlement::Keep(reason)).await?,
    }
    Ok(())
}

/// `POST /api/sales/disputes/{id}`: `reason`, and `split` to uphold it
/// with a new split (without: the credit stands).
pub async fn api_settle(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ApproveSales>,
    _: ApiCsrf,
    Path(id): Path<i64>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, WebError> {
    let input = ActionInput {
        reason: crate::context::json_text(&body, "reason"),
        split: crate::context::json_text(&body, "split"),
    };
    settle(&state, &user, ctx.lang, id, &input).await?;
    Ok(Json(json!({"id": id})).into_response())
}

/// The entry form.
#[derive(Debug, Deserialize)]
pub struct EntryForm {
    csrf: String,
    #[serde(flatten)]
    input: EntryInput,
}

impl HasCsrf for EntryForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// An action's form.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    csrf: String,
    #[serde(flatten)]
    input: ActionInput,
}

impl HasCsrf for ActionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /sales`.
pub async fn form_enter(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::RegisterSales>,
    CsrfForm(f): CsrfForm<EntryForm>,
) -> Result<Response, PageError> {
    let id = enter(&state, &user, &f.input).await.page(&ctx, "/sales")?;
    Ok(Redirect::to(&format!("/sales/{id}")).into_response())
}

/// `POST /sales/{id}/approve|reject|dispute|adjust`.
pub async fn form_act(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::RegisterSales>,
    Path((id, action)): Path<(i64, String)>,
    CsrfForm(f): CsrfForm<ActionForm>,
) -> Result<Response, PageError> {
    let path = format!("/sales/{id}");
    act(&state, &user, ctx.lang, id, &action, &f.input)
        .await
        .page(&ctx, &path)?;
    Ok(Redirect::to(&path).into_response())
}

/// `POST /sales/disputes/{id}`.
pub async fn form_settle(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ApproveSales>,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<ActionForm>,
) -> Result<Response, PageError> {
    settle(&state, &user, ctx.lang, id, &f.input)
        .await
        .page(&ctx, "/sales")?;
    Ok(Redirect::to("/sales").into_response())
}

/// Why a credit line is what it is, in the reader's language: the rule
/// (`rule CHANNEL: …`, as the registration wrote it) by its channel and
/// part, or the branch manager's reason as they wrote it.
fn reason(c: &CreditRow, lang: Lang) -> String {
    let rule_channel = c
        .reason
        .strip_prefix("rule ")
        .and_then(|r| r.split_once(':'))
        .map(|(channel, _)| channel);
    match rule_channel {
        Some(channel) if c.part != "adjusted" => format!(
            "{} {}: {} {}",
            t::SPLIT_RULES.get(lang),
            if channel == "*" {
                t::ANY_CHANNEL.get(lang)
            } else {
                word(channel, lang)
            },
            word(&c.part, lang),
            percent(c.share_bp)
        ),
        _ => c.reason.clone(),
    }
}

fn sales_table(rows: &[SaleRow], lang: Lang, id: &str) -> Markup {
    html! {
        @if rows.is_empty() { p.muted { (t::NONE.get(lang)) } } @else {
            table id=(id) { thead { tr {
                th { "#" } th { (t::SOLD_ON.get(lang)) } th { (t::CUSTOMERS.get(lang)) } th { (t::PRODUCT.get(lang)) }
                th.n { (t::AMOUNT.get(lang)) } th { (t::CHANNEL.get(lang)) } th { (t::SELLER.get(lang)) }
                th { (t::SOURCE.get(lang)) } th { (t::STATUS.get(lang)) }
            } } tbody { @for s in rows { tr {
                td { a href={ "/sales/" (s.id) } { (s.id) } }
                td { (s.sold_on) }
                td { (s.customer_name) " " span.muted { (s.customer_no) } }
                td { (s.product_name) }
                td.n { (yuan(Some(s.amount_minor))) }
                td { (word(&s.channel, lang)) }
                td { (s.seller.as_deref().or(s.seller_code.as_deref()).unwrap_or("—")) }
                td { (word(&s.source, lang)) }
                td { span.tag { (word(&s.status, lang)) } }
            } } } }
        }
    }
}

/// `GET /sales`: register a sale; my credited sales; a branch manager's
/// entries to approve and disputes to settle.
pub async fn page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::RegisterSales>,
    Query(prefill): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let path = "/sales";
    let lang = ctx.lang;
    let date = |k: &str| {
        prefill
            .get(k)
            .filter(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
            .map(String::as_str)
    };
    let l = lists(&state, &user, (date("from"), date("to")))
        .await
        .page(&ctx, path)?;
    crate::context::audit_list(
        &state,
        &ctx,
        "sales.list",
        "",
        l.mine.len() + l.pending.len(),
    )
    .await
    .page(&ctx, path)?;
    let products = panorama_store::pipeline::products(&state.store)
        .await
        .page(&ctx, path)?;
    let rules = q::rules(&state.store).await.page(&ctx, path)?;
    let mut channels: Vec<&str> = rules.iter().map(|r| r.channel.as_str()).collect();
    channels.dedup();
    let share = |channel: &str, part: &str| {
        rules
            .iter()
            .find(|r| r.channel == channel && r.part == part)
            .map_or_else(|| "—".to_owned(), |r| percent(r.share_bp))
    };
    let csrf = ctx.csrf().await;
    let customer = prefill.get("customer").map(String::as_str).unwrap_or("");
    let body = html! {
        section id="register-sale" {
            h2 { (t::REGISTER_SALE.get(lang)) }
            form method="post" action="/sales" {
                input type="hidden" name="csrf" value=(csrf);
                input name="customer_no" id="sale-customer" required size="12" value=(customer) placeholder=(t::CUSTOMER_NO.get(lang)); " "
                select name="product_code" id="sale-product" { @for (code, zh, en) in &products {
                    option value=(code) { (if lang == Lang::Zh { zh } else { en }) }
                } } " "
                input name="amount" id="sale-amount" required size="10" inputmode="decimal" placeholder=(t::AMOUNT.get(lang)); " "
                input name="sold_on" type="date" id="sale-date"; " "
                input name="account_no" size="14" placeholder=(t::ACCOUNT_NO.get(lang)); " "
                input name="referrer" id="sale-referrer" size="10" placeholder=(t::REFERRER_LOGIN.get(lang)); " "
                input name="note" size="16" placeholder=(t::NOTES.get(lang)); " "
                button type="submit" id="save-sale" { (t::SAVE.get(lang)) }
            }
        }
        @if user.can(Permission::ApproveSales) {
            section id="pending-sales" {
                h2 { (t::PENDING_SALES.get(lang)) }
                (sales_table(&l.pending, lang, "pending"))
            }
            section id="sale-disputes" {
                h2 { (t::SALE_DISPUTES.get(lang)) }
                @if l.disputes.is_empty() { p.muted { (t::NONE.get(lang)) } } @else {
                    table { tbody { @for d in &l.disputes { tr {
                        td { a href={ "/sales/" (d.sale_id) } { (t::SALE.get(lang)) " " (d.sale_id) } }
                        td { (d.raised_by) } td { (d.reason) } td.muted { (d.created_at.get(..10).unwrap_or(&d.created_at)) }
                        td { form.inline method="post" action={ "/sales/disputes/" (d.id) } {
                            input type="hidden" name="csrf" value=(csrf);
                            input name="split" id={ "settle-split-" (d.id) } size="18" placeholder=(t::NEW_SPLIT.get(lang)); " "
                            input name="reason" id={ "settle-reason-" (d.id) } required size="12" placeholder=(t::REASON.get(lang)); " "
                            button type="submit" id={ "settle-" (d.id) } { (t::RESOLVE.get(lang)) }
                        } }
                    } } } }
                }
            }
        }
        section id="my-sales" {
            h2 { (t::MY_SALES.get(lang)) }
            (sales_table(&l.mine, lang, "mine"))
        }
        section id="split-rules" {
            h2 { (t::SPLIT_RULES.get(lang)) }
            table { thead { tr {
                th { (t::CHANNEL.get(lang)) } th.n { (word("seller", lang)) } th.n { (word("rm", lang)) } th.n { (word("referrer", lang)) }
            } } tbody { @for c in &channels { tr {
                td { (if *c == "*" { t::ANY_CHANNEL.get(lang) } else { word(c, lang) }) }
                td.n { (share(c, "seller")) } td.n { (share(c, "rm")) } td.n { (share(c, "referrer")) }
            } } } }
        }
    };
    Ok(layout(lang, Some(&user), &csrf, t::SALES.get(lang), body).into_response())
}

/// `GET /sales/{id}`: the sale, every credit version with why, and the
/// forms the user may use (approve or reject, dispute, adjust).
pub async fn detail(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::RegisterSales>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let path = format!("/sales/{id}");
    let lang = ctx.lang;
    let (s, credits) = visible(&state, &user, id).await.page(&ctx, &path)?;
    let csrf = ctx.csrf().await;
    let manager = user.can(Permission::ApproveSales)
        && s.org_path
            .as_deref()
            .is_some_and(|p| p.starts_with(&user.org_path));
    let mine: i64 = credits
        .iter()
        .filter(|c| c.version == s.credit_version && c.user_id == user.id)
        .map(|c| c.share_bp)
        .sum();
    let body = html! {
        section id="sale" {
            h2 { (t::SALE.get(lang)) " " (s.id) " · " (s.product_name) " " span.tag id="sale-status" { (word(&s.status, lang)) } }
            table { tbody {
                tr { th { (t::CUSTOMERS.get(lang)) } td { (s.customer_name) " " span.muted { (s.customer_no) } } }
                tr { th { (t::AMOUNT.get(lang)) } td { (yuan(Some(s.amount_minor))) } }
                tr { th { (t::SOLD_ON.get(lang)) } td { (s.sold_on) } }
                tr { th { (t::CHANNEL.get(lang)) } td { (word(&s.channel, lang)) } }
                tr { th { (t::SELLER.get(lang)) } td { (s.seller.as_deref().or(s.seller_code.as_deref()).unwrap_or("—")) } }
                tr { th { (t::SOURCE.get(lang)) } td { (word(&s.source, lang)) " · " (s.entered_by) } }
                @if let Some(no) = &s.account_no { tr { th { (t::ACCOUNT_NO.get(lang)) } td { (no) } } }
                @if let Some(c) = s.campaign_id { tr { th { (t::THROUGH_CAMPAIGN.get(lang)) } td { a href={ "/campaigns/" (c) } { "#" (c) } } } }
                @if let Some(n) = &s.note { tr { th { (t::NOTES.get(lang)) } td { (n) } } }
                @if let Some(n) = &s.decision_note { tr { th { (t::REASON.get(lang)) } td { (n) } } }
                tr { th { (t::MY_SHARE.get(lang)) } td id="my-share" { (percent(mine)) } }
            } }
        }
        section id="credits" {
            h2 { (t::CREDITS.get(lang)) }
            table id="credit-lines" { thead { tr {
                th { (t::VERSION.get(lang)) } th { (t::USERNAME.get(lang)) } th { (t::PART.get(lang)) }
                th.n { (t::SHARE.get(lang)) } th.n { (t::AMOUNT.get(lang)) } th { (t::REASON.get(lang)) } th { (t::CREATED_BY.get(lang)) }
            } } tbody { @for c in &credits {
                tr class=[(c.version != s.credit_version).then_some("muted")] {
                    td { (c.version) @if c.version == s.credit_version { " ✓" } }
                    td { (c.display_name) " " span.muted { (c.username) } }
                    td { (word(&c.part, lang)) }
                    td.n { (percent(c.share_bp)) }
                    td.n { (yuan(Some(c.amount_minor))) }
                    td { (reason(c, lang)) } td { (c.made_by) }
                }
            } } }
        }
        section id="sale-actions" {
            @if manager && s.status == "pending" {
                form.inline method="post" action={ "/sales/" (s.id) "/approve" } {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" id="approve-sale" { (t::APPROVE.get(lang)) }
                } " "
                form.inline method="post" action={ "/sales/" (s.id) "/reject" } {
                    input type="hidden" name="csrf" value=(csrf);
                    input name="reason" required size="12" placeholder=(t::REASON.get(lang)); " "
                    button type="submit" { (t::REJECT.get(lang)) }
                }
            }
            @if s.status != "rejected" {
                form method="post" action={ "/sales/" (s.id) "/dispute" } {
                    input type="hidden" name="csrf" value=(csrf);
                    input name="reason" id="dispute-reason" required size="24" placeholder=(t::REASON.get(lang)); " "
                    button type="submit" id="dispute-sale" { (t::DISPUTE.get(lang)) }
                }
            }
            @if manager && s.status != "rejected" {
                form method="post" action={ "/sales/" (s.id) "/adjust" } {
                    input type="hidden" name="csrf" value=(csrf);
                    input name="split" id="adjust-split" required size="24" placeholder=(t::NEW_SPLIT.get(lang)); " "
                    input name="reason" id="adjust-reason" required size="12" placeholder=(t::REASON.get(lang)); " "
                    button type="submit" id="adjust-sale" { (t::ADJUST_SPLIT.get(lang)) }
                }
            }
        }
    };
    Ok(layout(lang, Some(&user), &csrf, t::SALES.get(lang), body).into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/sales", get(page).post(form_enter))
        .route("/sales/{id}", get(detail))
        .route("/sales/{id}/{action}", post(form_act))
        .route("/sales/disputes/{id}", post(form_settle))
        .route("/api/sales", get(api_list).post(api_enter))
        .route("/api/sales/{id}", get(api_get))
        .route("/api/sales/{id}/{action}", post(api_act))
        .route("/api/sales/disputes/{id}", post(api_settle))
}
