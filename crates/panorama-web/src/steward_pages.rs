//! The data steward's pages over ECIF (the JSON API is `steward_api.rs`): the
//! review queue with both records side by side and the evidence per field,
//! accept and reject; merge events with undo; relationships between persons
//! and companies (executive, shareholder, payroll employee, guarantor …)
//! declared by hand; import runs with their reject reports; data quality by
//! source system. Every action goes through the same ECIF functions as the
//! CLI and the API, is CSRF-checked and audited.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use panorama_store::ecif::{self as q, STEWARD_KINDS};
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::error::WebError;
use crate::extract::{CsrfForm, HasCsrf, Require, perm};
use crate::i18n::{self as t, Lang};
use crate::mask::{self, Level};
use crate::ui::{OrPage, PageError, layout};

/// A form with only its token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    csrf: String,
}

impl HasCsrf for TokenForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `GET /ecif`: the open review pairs, most probable first.
pub async fn queue(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ResolveIdentities>,
) -> Result<Response, PageError> {
    let path = "/ecif";
    let user = &user;
    let lang = ctx.lang;
    let level = Level::for_role(user.role);
    let rows = q::review_queue(&state.store, "open", 50)
        .await
        .page(&ctx, path)?;
    let csrf = ctx.csrf().await;
    let shown = |v: &Option<String>, f: fn(&str, Level) -> String| {
        v.as_deref().map_or_else(|| "—".to_owned(), |x| f(x, level))
    };
    let body = html! {
        p { a href="/ecif/merges" { (t::MERGES.get(lang)) } " · " a href="/ecif/quality" { (t::DATA_QUALITY.get(lang)) } " · " a href="/ecif/relationships" { (t::RELATIONSHIPS.get(lang)) } }
        h2 { (t::REVIEW_QUEUE.get(lang)) " (" (rows.len()) ")" }
        @if rows.is_empty() { p.muted { (t::NONE.get(lang)) } }
        @for r in &rows {
            @let evidence: Value = r.evidence.as_deref().and_then(|e| serde_json::from_str(e).ok()).unwrap_or(Value::Null);
            section.pair id={ "review-" (r.id) } {
                h3 { "#" (r.id) " · " (t::PROBABILITY.get(lang)) " " (format!("{:.1}%", 100.0 * r.match_probability)) }
                table {
                    thead { tr { th {} th { (r.left_system) " " span.muted { (r.left_key) } } th { (r.right_system) " " span.muted { (r.right_key) } } } }
                    tbody {
                        tr { th { (t::NAME.get(lang)) } td { (mask::name(&r.left_name, &r.left_key, level)) } td { (mask::name(&r.right_name, &r.right_key, level)) } }
                        tr { th { (t::RESIDENT_ID.get(lang)) } td { (shown(&r.left_id_no, mask::resident_id)) } td { (shown(&r.right_id_no, mask::resident_id)) } }
                        tr { th { (t::MOBILE.get(lang)) } td { (shown(&r.left_mobile, mask::mobile)) } td { (shown(&r.right_mobile, mask::mobile)) } }
                        tr { th { (t::BIRTH_DATE.get(lang)) } td { (shown(&r.left_birth_date, mask::birth_date)) } td { (shown(&r.right_birth_date, mask::birth_date)) } }
                        tr { th { (t::ADDRESS.get(lang)) } td { (shown(&r.left_address, mask::address)) } td { (shown(&r.right_address, mask::address)) } }
                    }
                }
                (waterfall(&evidence, lang))
                form.inline method="post" action={ "/ecif/reviews/" (r.id) "/accept" } {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" id={ "accept-" (r.id) } { (t::ACCEPT.get(lang)) }
                } " "
                form.inline method="post" action={ "/ecif/reviews/" (r.id) "/reject" } {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" id={ "reject-" (r.id) } { (t::REJECT.get(lang)) }
                }
            }
        }
    };
    Ok(layout(lang, Some(user), &csrf, t::ECIF.get(lang), body).into_response())
}

/// `POST /ecif/reviews/{id}/{accept|reject}`.
pub async fn decide(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ResolveIdentities>,
    Path((id, action)): Path<(i64, String)>,
    CsrfForm(_): CsrfForm<TokenForm>,
) -> Result<Response, PageError> {
    let path = "/ecif";
    let user = &user;
    let accept = match action.as_str() {
        "accept" => true,
        "reject" => false,
        _ => return Err(WebError::NotFound).page(&ctx, path),
    };
    panorama_ecif::store::decide(&state.store, id, accept, &user.username)
        .await
        .map_err(WebError::from)
        .page(&ctx, path)?;
    Ok(Redirect::to(path).into_response())
}

/// `GET /ecif/merges`: merge and unmerge events with undo.
pub async fn merges(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ResolveIdentities>,
) -> Result<Response, PageError> {
    let path = "/ecif/merges";
    let user = &user;
    let lang = ctx.lang;
    let rows = q::merges(&state.store, 200).await.page(&ctx, path)?;
    let csrf = ctx.csrf().await;
    let body = html! {
        table id="merges" { tbody { @for m in &rows { tr {
            td { "#" (m.id) } td { (crate::ui::when(&m.at)) } td { (m.kind) }
            td { a href={ "/customers/" (m.surviving_customer_id) } { (m.surviving_customer_id) } " ← " (m.absorbed_customer_id) }
            td.muted { (m.actor) }
            td { @if m.kind == "merge" {
                @if let Some(u) = m.undone_by { span.muted { (t::UNDONE.get(lang)) " #" (u) } } @else {
                    form.inline method="post" action={ "/ecif/merges/" (m.id) "/undo" } {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" id={ "undo-" (m.id) } { (t::UNDO.get(lang)) }
                    }
                }
            } }
        } } } }
    };
    Ok(layout(lang, Some(user), &csrf, t::MERGES.get(lang), body).into_response())
}

/// `POST /ecif/merges/{id}/undo`.
pub async fn undo(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ResolveIdentities>,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenForm>,
) -> Result<Response, PageError> {
    let path = "/ecif/merges";
    let user = &user;
    panorama_ecif::store::unmerge(&state.store, id, &user.username)
        .await
        .map_err(WebError::from)
        .page(&ctx, path)?;
    Ok(Redirect::to(path).into_response())
}

/// `GET /ecif/quality`: data quality by source system and the import runs
/// with their reject reports.
pub async fn quality(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ResolveIdentities>,
) -> Result<Response, PageError> {
    let path = "/ecif/quality";
    let user = &user;
    let lang = ctx.lang;
    let rows = q::quality(&state.store).await.page(&ctx, path)?;
    let runs = q::import_runs(&state.store, 20).await.page(&ctx, path)?;
    let csrf = ctx.csrf().await;
    let body = html! {
        section id="quality" {
            h2 { (t::DATA_QUALITY.get(lang)) }
            table { thead { tr { th { "system" } th.n { "records" } th.n { "invalid ids" } th.n { "legacy ids" } th.n { "missing ids" }
                th.n { "missing mobiles" } th.n { "missing addresses" } th.n { "credit code flags" } th.n { "duplicates" } } }
            tbody { @for r in &rows { tr {
                td { (r.system) } td.n { (r.records) } td.n { (r.invalid_ids) } td.n { (r.legacy_ids) } td.n { (r.missing_ids) }
                td.n { (r.missing_mobiles) } td.n { (r.missing_addresses) } td.n { (r.credit_code_flags) } td.n { (r.duplicates) }
            } } } }
        }
        section id="imports" {
            h2 { (t::IMPORT_RUNS.get(lang)) }
            @for (run, files) in &runs {
                h3 { "#" (run.id) " · " (run.status) " · " (crate::ui::when(&run.started_at)) " · " (run.folder)
                     " · " (run.rows_landed) "/" (run.rows_read) @if run.rows_rejected > 0 { " · " span.err { (run.rows_rejected) } } }
                @if let Some(e) = &run.error { p.err { (e) } }
                table { tbody { @for f in files { tr {
                    td { (f.system) } td { (f.file) } td { (f.kind) } td.n { (f.rows_landed) "/" (f.rows_read) }
                    td.n { @if f.rows_rejected > 0 { span.err { (f.rows_rejected) } } @else { "0" } }
                    td.muted { @if let Some(r) = &f.reject_file { (t::REJECT_REPORT.get(lang)) ": " (r) } }
                } } } }
            }
        }
    };
    Ok(layout(lang, Some(user), &csrf, t::DATA_QUALITY.get(lang), body).into_response())
}

/// Which customer's relationships to show.
#[derive(Debug, Deserialize)]
pub struct RelQuery {
    customer: Option<String>,
}

async fn customer_by_number(state: &AppState, number: &str) -> Result<i64, WebError> {
    panorama_store::assign::ids_by_number(&state.store, &[number.trim().to_owned()])
        .await?
        .get(number.trim())
        .copied()
        .ok_or_else(|| {
            WebError::BadRequest(format!(
                "{}: {number}",
                t::CUSTOMER_NO.get(crate::i18n::Lang::Zh)
            ))
        })
}

/// `GET /ecif/relationships?customer=NUMBER`: a customer's relationships
/// and the form to declare one.
pub async fn relationships(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ResolveIdentities>,
    Query(rq): Query<RelQuery>,
) -> Result<Response, PageError> {
    let path = "/ecif/relationships";
    let user = &user;
    let lang = ctx.lang;
    let number = rq
        .customer
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let rows = match number {
        Some(n) => {
            let id = customer_by_number(&state, n).await.page(&ctx, path)?;
            q::relationships(&state.store, id).await.page(&ctx, path)?
        }
        None => Vec::new(),
    };
    let csrf = ctx.csrf().await;
    let body = html! {
        form method="get" action="/ecif/relationships" {
            label { (t::CUSTOMER_NO.get(lang)) " " input name="customer" size="14" value=(number.unwrap_or("")); } " "
            button type="submit" { (t::VIEW.get(lang)) }
        }
        @if number.is_some() {
            table id="relationships" { tbody { @for r in &rows { tr {
                td { (if r.direction == "out" { "→" } else { "←" }) } td { (r.kind) }
                td { a href={ "/customers/" (r.other) } { (r.other_no) } } td.muted { (r.source) }
                td { @if r.source == "steward" {
                    form.inline method="post" action={ "/ecif/relationships/" (r.id) "/remove" } {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { (t::REMOVE.get(lang)) }
                    }
                } }
            } } } }
        }
        section id="add-relationship" {
            h2 { (t::ADD_RELATIONSHIP.get(lang)) }
            form method="post" action="/ecif/relationships" {
                input type="hidden" name="csrf" value=(csrf);
                input name="from" id="rel-from" required size="14" placeholder=(t::FROM_CUSTOMER.get(lang)) value=(number.unwrap_or("")); " "
                select name="kind" id="rel-kind" { @for k in STEWARD_KINDS { option value=(k) { (k) } } } " "
                input name="to" id="rel-to" required size="14" placeholder=(t::TO_CUSTOMER.get(lang)); " "
                button type="submit" id="rel-add" { (t::SAVE.get(lang)) }
            }
        }
    };
    Ok(layout(lang, Some(user), &csrf, t::RELATIONSHIPS.get(lang), body).into_response())
}

/// The add form.
#[derive(Debug, Deserialize)]
pub struct AddForm {
    csrf: String,
    from: String,
    to: String,
    kind: String,
}

impl HasCsrf for AddForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /ecif/relationships`.
pub async fn add(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ResolveIdentities>,
    CsrfForm(f): CsrfForm<AddForm>,
) -> Result<Response, PageError> {
    let path = "/ecif/relationships";
    let user = &user;
    let from = customer_by_number(&state, &f.from).await.page(&ctx, path)?;
    let to = customer_by_number(&state, &f.to).await.page(&ctx, path)?;
    q::add_relationship(&state.store, from, to, f.kind.trim(), &user.username)
        .await
        .page(&ctx, path)?;
    Ok(Redirect::to(&format!(
        "/ecif/relationships?customer={}",
        crate::ui::urlencode(f.from.trim())
    ))
    .into_response())
}

/// `POST /ecif/relationships/{id}/remove`.
pub async fn remove(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ResolveIdentities>,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenForm>,
) -> Result<Response, PageError> {
    let path = "/ecif/relationships";
    let user = &user;
    if !q::remove_relationship(&state.store, id, &user.username)
        .await
        .page(&ctx, path)?
    {
        return Err(WebError::NotFound).page(&ctx, path);
    }
    Ok(Redirect::to(path).into_response())
}

/// A pair's evidence as a waterfall: the prior, each field's comparison level
/// with its weight and frequency adjustment (a bar right for, left against),
/// and the total. Shows field names and levels only, never the values.
pub(crate) fn waterfall(evidence: &Value, lang: Lang) -> Markup {
    let Some(steps) = evidence["steps"].as_array() else {
        // Evidence stored before waterfalls: field → level (and weight).
        return html! { @if let Some(fields) = evidence.as_object() {
            p { strong { (t::EVIDENCE.get(lang)) ": " }
                @for (field, e) in fields {
                    span.tag { (field) " " (e["level"].as_str().or(e.as_str()).unwrap_or("")) " "
                        (e["weight"].as_f64().map_or_else(String::new, |w| format!("{w:+.1}"))) }
                }
            }
        } };
    };
    let num = |v: &Value| v.as_f64().unwrap_or(0.0);
    let scale = steps
        .iter()
        .map(|s| (num(&s["weight"]) + num(&s["tf"])).abs())
        .chain([num(&evidence["prior"]).abs(), num(&evidence["total"]).abs()])
        .fold(1.0, f64::max);
    let bar = |w: f64| {
        let pct = (50.0 * w.abs() / scale).min(50.0);
        let (left, class) = if w >= 0.0 {
            (50.0, "for")
        } else {
            (50.0 - pct, "against")
        };
        html! { span.wbar { span class={ "w " (class) } style={ "left:" (format!("{left:.1}")) "%;width:" (format!("{pct:.1}")) "%" } {} } }
    };
    html! {
        table.waterfall {
            caption { (t::EVIDENCE.get(lang)) " — " span.muted { (t::WATERFALL_NOTE.get(lang)) } }
            thead { tr { th { (t::FIELD.get(lang)) } th { (t::COMPARISON_LEVEL.get(lang)) } th.n { (t::MATCH_WEIGHT.get(lang)) } th.n { (t::TF_ADJ.get(lang)) } th {} } }
            tbody {
                tr.prior { td { (t::PRIOR_WEIGHT.get(lang)) } td {} td.n { (format!("{:+.2}", num(&evidence["prior"]))) } td {} td { (bar(num(&evidence["prior"]))) } }
                @for s in steps {
                    @let w = num(&s["weight"]) + num(&s["tf"]);
                    tr { td { (s["field"].as_str().unwrap_or("")) } td { (s["level"].as_str().unwrap_or("")) }
                        td.n { (format!("{:+.2}", num(&s["weight"]))) }
                        td.n { @if num(&s["tf"]) != 0.0 { (format!("{:+.2}", num(&s["tf"]))) } }
                        td { (bar(w)) } }
                }
                tr.total { td { strong { (t::TOTAL_WEIGHT.get(lang)) } } td {
                        @if let Some(p) = evidence["probability"].as_f64() { (format!("{:.2}%", 100.0 * p)) } }
                    td.n { strong { (format!("{:+.2}", num(&evidence["total"]))) } } td {} td { (bar(num(&evidence["total"]))) } }
            }
        }
    }
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/ecif", get(queue))
        .route("/ecif/reviews/{id}/{action}", post(decide))
        .route("/ecif/merges", get(merges))
        .route("/ecif/merges/{id}/undo", post(undo))
        .route("/ecif/quality", get(quality))
        .route("/ecif/relationships", get(relationships).post(add))
        .route("/ecif/relationships/{id}/remove", post(remove))
}
