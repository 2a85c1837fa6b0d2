//! Complaints (投诉) and satisfaction: record a complaint from the 360,
//! work it through its statuses against the SLA clock (escalated to the
//! branch manager when it runs out), close it with the customer's survey,
//! and read CSAT and NPS by branch and RM. Pages and JSON; writes are
//! CSRF-checked and audited.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use panorama_ocrm::complaints::{
    self as rules, Action, CATEGORIES, CHANNELS, NewComplaint, Refusal,
};
use panorama_store::complaints::{self, ComplaintRow};
use panorama_store::ocrm;
use panorama_store::surveys::{self, Answered, Rating};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{Permission, User};
use crate::context::Ctx;
use crate::error::WebError;
use crate::extract::{ApiCsrf, CsrfForm, HasCsrf, Require, perm};
use crate::i18n::{self as t, Lang, Text};
use crate::mask::{self, Level};
use crate::ui::{OrPage, PageError, layout};

/// A status's name.
pub(crate) fn status_name(status: &str) -> Text {
    match status {
        "open" => t::STATUS_OPEN,
        "in_progress" => t::STATUS_IN_PROGRESS,
        "escalated" => t::STATUS_ESCALATED,
        "resolved" => t::STATUS_RESOLVED,
        _ => t::STATUS_CLOSED,
    }
}

/// Time left on the SLA (negative: overdue), in hours, for an unresolved one.
fn hours_left(row: &ComplaintRow, now: DateTime<Utc>) -> Option<i64> {
    if !rules::is_unresolved(&row.status) {
        return None;
    }
    let due = DateTime::parse_from_rfc3339(&row.sla_due_at).ok()?;
    Some((due.with_timezone(&Utc) - now).num_hours())
}

pub(crate) fn sla_cell(row: &ComplaintRow, lang: Lang) -> Markup {
    let now = Utc::now();
    html! {
        @match hours_left(row, now) {
            Some(h) if h < 0 => span.err { (t::SLA_BREACHED.get(lang)) " " (-h) " " (t::HOURS.get(lang)) },
            Some(h) => span { (t::SLA_LEFT.get(lang)) " " (h) " " (t::HOURS.get(lang)) },
            None => span.muted { (crate::ui::when(&row.sla_due_at)) },
        }
    }
}

fn masked(user: &User, rows: Vec<ComplaintRow>) -> Vec<ComplaintRow> {
    let level = Level::for_role(user.role);
    rows.into_iter()
        .map(|r| ComplaintRow {
            customer_name: mask::name(&r.customer_name, &r.customer_no, level),
            ..r
        })
        .collect()
}

fn refusal(r: Refusal, lang: Lang) -> WebError {
    match r {
        Refusal::NotFound => WebError::NotFound,
        Refusal::WrongStatus(s) => WebError::Conflict(format!(
            "{} ({})",
            t::WRONG_STATUS.get(lang),
            status_name(&s).get(lang)
        )),
        Refusal::NoteNeeded => WebError::BadRequest(t::NOTE_NEEDED.get(lang).to_owned()),
    }
}

fn blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A new complaint, from the 360's form or JSON.
#[derive(Debug, Deserialize)]
pub struct NewInput {
    category: String,
    channel: String,
    #[serde(default)]
    severity: Option<String>,
    description: String,
}

async fn open(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    customer: i64,
    input: &NewInput,
) -> Result<i64, WebError> {
    let lang = ctx.lang;
    if ocrm::customer_in_scope(&state.store, &user.scope(), customer)
        .await?
        .is_none()
    {
        return Err(WebError::NotFound);
    }
    let description = input.description.trim();
    if description.is_empty() || description.chars().count() > 2000 {
        return Err(WebError::BadRequest(t::DESCRIPTION.get(lang).to_owned()));
    }
    let id = rules::open(
        &state.store,
        &NewComplaint {
            customer_id: customer,
            category: input.category.trim(),
            channel: input.channel.trim(),
            severity: blank(&input.severity).unwrap_or("normal"),
            description,
            actor: &user.username,
            actor_id: user.id,
        },
    )
    .await?;
    ctx.audit(
        state,
        ocrm::Audit {
            action: "complaint.open",
            customer_id: Some(customer),
            object_type: Some("complaint"),
            object_id: Some(&id.to_string()),
            detail: Some(&json!({"category": input.category.trim()}).to_string()),
            ..ocrm::Audit::default()
        },
    )
    .await?;
    Ok(id)
}

/// A step, from a form or JSON: a note (the resolution), and on closing the
/// customer's survey.
#[derive(Debug, Default, Deserialize)]
pub struct StepInput {
    note: Option<String>,
    csat: Option<String>,
    nps: Option<String>,
    comment: Option<String>,
}

/// The error of a survey answer that was not recorded.
pub(crate) fn answered(a: Answered, lang: Lang) -> WebError {
    match a {
        Answered::Recorded => WebError::Internal("a recorded survey is not an error".into()),
        Answered::NotFound => WebError::NotFound,
        Answered::SelfRating => WebError::Refused(t::SURVEY_SELF.get(lang).to_owned()),
        Answered::AlreadyAnswered => WebError::Conflict(t::SURVEY_DONE.get(lang).to_owned()),
        Answered::Expired => WebError::Conflict(t::SURVEY_EXPIRED.get(lang).to_owned()),
    }
}

fn score(raw: Option<&str>, what: &str) -> Result<Option<i64>, WebError> {
    raw.map(|s| {
        s.parse::<i64>()
            .map_err(|_| WebError::BadRequest(format!("{what}: {s}")))
    })
    .transpose()
}

async fn step(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    id: i64,
    action: &str,
    input: &StepInput,
) -> Result<String, WebError> {
    let lang = ctx.lang;
    let action = Action::parse(action).ok_or(WebError::NotFound)?;
    let note = blank(&input.note);
    if note.is_some_and(|n| n.chars().count() > 2000) {
        return Err(WebError::BadRequest(t::RESOLUTION.get(lang).to_owned()));
    }
    let (csat, nps) = (
        score(blank(&input.csat), "CSAT")?,
        score(blank(&input.nps), "NPS")?,
    );
    let scope = user.scope();
    let rating = (csat.is_some() || nps.is_some()).then(|| Rating {
        csat,
        nps,
        comment: blank(&input.comment),
    });
    // A survey the closer enters must not rate the closer: refused before
    // anything changes (the customer gets an invitation of their own).
    if action == Action::Close && rating.is_some() {
        let owner = complaints::get(&state.store, &scope, id)
            .await?
            .and_then(|c| c.owner_user_id);
        if owner == Some(user.id) {
            return Err(answered(Answered::SelfRating, lang));
        }
    }
    let status = rules::act(&state.store, &scope, id, action, note, &user.username)
        .await?
        .map_err(|r| refusal(r, lang))?;
    let customer = complaints::get(&state.store, &scope, id)
        .await?
        .map(|c| c.customer_id);
    ctx.audit(
        state,
        ocrm::Audit {
            action: "complaint.step",
            customer_id: customer,
            object_type: Some("complaint"),
            object_id: Some(&id.to_string()),
            detail: Some(&json!({"status": status}).to_string()),
            ..ocrm::Audit::default()
        },
    )
    .await?;
    if action == Action::Close
        && let Some(rating) = rating
    {
        let done = surveys::answer(&state.store, &scope, "complaint", id, &rating, user.id).await?;
        if done != Answered::Recorded {
            return Err(answered(done, lang));
        }
    }
    Ok(status)
}

/// Filters of the list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    customer: Option<i64>,
}

async fn read_list(
    state: &AppState,
    user: &User,
    q: &ListQuery,
) -> Result<Vec<ComplaintRow>, WebError> {
    let status = blank(&q.status);
    if let Some(s) = status
        && !rules::STATUSES.contains(&s)
    {
        return Err(WebError::BadRequest(format!("status: {s}")));
    }
    let rows = complaints::list(&state.store, &user.scope(), status, q.customer, 200).await?;
    Ok(masked(user, rows))
}

/// `GET /api/complaints?status=&customer=`: complaints in the caller's
/// scope, the most urgent first.
pub async fn api_list(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::HandleComplaints>,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let user = &user;
    let rows = read_list(&state, user, &q).await?;
    let filters = format!(
        "status={}&customer={}",
        q.status.as_deref().unwrap_or(""),
        q.customer.map(|c| c.to_string()).unwrap_or_default()
    );
    crate::context::audit_list(&state, &ctx, "complaint.list", &filters, rows.len()).await?;
    Ok(Json(json!({"complaints": rows})).into_response())
}

/// Body of `POST /api/complaints`.
#[derive(Debug, Deserialize)]
pub struct OpenBody {
    customer_id: i64,
    #[serde(flatten)]
    input: NewInput,
}

/// `POST /api/complaints`.
pub async fn api_open(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::HandleComplaints>,
    _: ApiCsrf,
    Json(body): Json<OpenBody>,
) -> Result<Response, WebError> {
    let id = open(&state, &ctx, &user, body.customer_id, &body.input).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "status": "open"})),
    )
        .into_response())
}

/// `GET /api/complaints/{id}`: the complaint and its steps.
pub async fn api_get(
    State(state): State<AppState>,
    Require { user, .. }: Require<perm::HandleComplaints>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let user = &user;
    let row = complaints::get(&state.store, &user.scope(), id)
        .await?
        .ok_or(WebError::NotFound)?;
    let row = masked(user, vec![row]).remove(0);
    let events = complaints::events(&state.store, id).await?;
    Ok(Json(json!({"complaint": row, "events": events})).into_response())
}

/// `POST /api/complaints/{id}/{action}`: start, escalate, resolve (note),
/// reopen, close (optional csat, nps, comment).
pub async fn api_step(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::HandleComplaints>,
    _: ApiCsrf,
    Path((id, action)): Path<(i64, String)>,
    body: Option<Json<serde_json::Value>>,
) -> Result<Response, WebError> {
    let body = body.map(|Json(v)| v).unwrap_or_default();
    let text = |k: &str| crate::context::json_text(&body, k);
    let input = StepInput {
        note: text("note"),
        csat: text("csat"),
        nps: text("nps"),
        comment: text("comment"),
    };
    let status = step(&state, &ctx, &user, id, &action, &input).await?;
    Ok(Json(json!({"id": id, "status": status})).into_response())
}

/// Body of `POST /api/surveys`.
#[derive(Debug, Deserialize)]
pub struct SurveyBody {
    kind: String,
    object_id: i64,
    csat: Option<i64>,
    nps: Option<i64>,
    comment: Option<String>,
}

/// `POST /api/surveys`: an answer the customer gave a member of staff after
/// a closed complaint or a contact, entered by someone other than the
/// person it rates (marked `staff`, with who entered it).
pub async fn api_survey(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::HandleComplaints>,
    _: ApiCsrf,
    Json(body): Json<SurveyBody>,
) -> Result<Response, WebError> {
    let user = &user;
    let done = surveys::answer(
        &state.store,
        &user.scope(),
        &body.kind,
        body.object_id,
        &Rating {
            csat: body.csat,
            nps: body.nps,
            comment: blank(&body.comment),
        },
        user.id,
    )
    .await?;
    if done != Answered::Recorded {
        return Err(answered(done, ctx.lang));
    }
    Ok((StatusCode::CREATED, Json(json!({"recorded": true}))).into_response())
}

fn since_90_days() -> String {
    (Utc::now().date_naive() - chrono::Days::new(90)).to_string()
}

/// `GET /api/satisfaction`: CSAT and NPS of the last 90 days by org unit
/// and RM.
pub async fn api_satisfaction(
    State(state): State<AppState>,
    Require { user, .. }: Require<perm::ViewServiceReports>,
) -> Result<Response, WebError> {
    let user = &user;
    let rows = surveys::satisfaction(&state.store, &user.scope(), &since_90_days()).await?;
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({"org_code": r.org_code, "org_name": r.org_name, "rm": r.rm, "answers": r.answers,
                        "from_customers": r.from_customers, "csat": r.csat, "nps": r.nps()})
        })
        .collect();
    Ok(Json(json!({"since": since_90_days(), "satisfaction": rows})).into_response())
}

/// The 360's form.
#[derive(Debug, Deserialize)]
pub struct OpenForm {
    csrf: String,
    #[serde(flatten)]
    input: NewInput,
}

impl HasCsrf for OpenForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /customers/{id}/complaints`.
pub async fn form_open(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::HandleComplaints>,
    Path(customer): Path<i64>,
    CsrfForm(f): CsrfForm<OpenForm>,
) -> Result<Response, PageError> {
    let path = format!("/customers/{customer}");
    let id = open(&state, &ctx, &user, customer, &f.input)
        .await
        .page(&ctx, &path)?;
    Ok(Redirect::to(&format!("/complaints/{id}")).into_response())
}

/// A step's form.
#[derive(Debug, Deserialize)]
pub struct StepForm {
    csrf: String,
    #[serde(flatten)]
    input: StepInput,
}

impl HasCsrf for StepForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /complaints/{id}/{action}`.
pub async fn form_step(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::HandleComplaints>,
    Path((id, action)): Path<(i64, String)>,
    CsrfForm(f): CsrfForm<StepForm>,
) -> Result<Response, PageError> {
    let path = format!("/complaints/{id}");
    step(&state, &ctx, &user, id, &action, &f.input)
        .await
        .page(&ctx, &path)?;
    Ok(Redirect::to(&path).into_response())
}

fn category_name(c: &str, lang: Lang) -> &str {
    let zh = match c {
        "fraud" => "盗刷欺诈",
        "card" => "信用卡",
        "fees" => "收费",
        "service" => "服务态度",
        "product" => "产品",
        _ => "其他",
    };
    if lang == Lang::Zh { zh } else { c }
}

/// The 360's complaint form (for users who handle complaints).
pub(crate) fn new_form(customer: i64, csrf: &str, lang: Lang) -> Markup {
    html! {
        form id="complaint-form" method="post" action={ "/customers/" (customer) "/complaints" } {
            input type="hidden" name="csrf" value=(csrf);
            select name="category" id="complaint-category" { @for (c, _) in CATEGORIES { option value=(c) { (category_name(c, lang)) } } } " "
            select name="channel" { @for c in CHANNELS { option value=(c) { (c) } } } " "
            select name="severity" {
                option value="normal" { (t::SEVERITY_NORMAL.get(lang)) }
                option value="high" { (t::SEVERITY_HIGH.get(lang)) }
            } " "
            input name="description" id="complaint-description" required size="24" placeholder=(t::DESCRIPTION.get(lang)); " "
            button type="submit" id="save-complaint" { (t::NEW_COMPLAINT.get(lang)) }
        }
    }
}

/// A table of complaints.
pub(crate) fn table(rows: &[ComplaintRow], lang: Lang) -> Markup {
    html! {
        table { tbody { @for r in rows { tr {
            td { a href={ "/complaints/" (r.id) } { "#" (r.id) } }
            td { a href={ "/customers/" (r.customer_id) } { (r.customer_name) } }
            td { (category_name(&r.category, lang)) @if r.severity == "high" { " " span.err { (t::SEVERITY_HIGH.get(lang)) } } }
            td { span.tag { (status_name(&r.status).get(lang)) } }
            td { (sla_cell(r, lang)) }
            td.muted { (r.owner.as_deref().unwrap_or("—")) }
        } } } }
    }
}

/// `GET /complaints?status=`: the complaints in scope and, for those who
/// read service reports, satisfaction by branch and RM.
pub async fn list_page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::HandleComplaints>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let path = "/complaints";
    let user = &user;
    let lang = ctx.lang;
    let rows = read_list(&state, user, &q).await.page(&ctx, path)?;
    let satisfaction = if user.can(Permission::ViewServiceReports) {
        surveys::satisfaction(&state.store, &user.scope(), &since_90_days())
            .await
            .page(&ctx, path)?
    } else {
        Vec::new()
    };
    let csrf = ctx.csrf().await;
    let body = html! {
        p { @for s in rules::STATUSES { a href={ "/complaints?status=" (s) } { (status_name(s).get(lang)) } " · " } a href="/complaints" { (t::ALL.get(lang)) } }
        section id="complaints" { (table(&rows, lang)) }
        @if !satisfaction.is_empty() {
            section id="satisfaction" {
                h2 { (t::SATISFACTION.get(lang)) }
                table { thead { tr { th { (t::ORG.get(lang)) } th { "RM" } th.n { (t::ANSWERS.get(lang)) } th.n { "CSAT" } th.n { "NPS" } } }
                tbody { @for s in &satisfaction { tr {
                    td { (s.org_name) } td { (s.rm.as_deref().unwrap_or("—")) } td.n { (s.answers) }
                    td.n { (s.csat.map_or_else(|| "—".to_owned(), |c| format!("{c:.2}"))) }
                    td.n { (s.nps().map_or_else(|| "—".to_owned(), |n| format!("{n:.0}"))) }
                } } } }
            }
        }
    };
    Ok(layout(lang, Some(user), &csrf, t::COMPLAINTS.get(lang), body).into_response())
}

/// `GET /complaints/{id}`: the complaint, its SLA clock, its steps and the
/// forms for the steps its status allows.
pub async fn detail_page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::HandleComplaints>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let path = format!("/complaints/{id}");
    let user = &user;
    let lang = ctx.lang;
    let row = complaints::get(&state.store, &user.scope(), id)
        .await
        .page(&ctx, &path)?
        .ok_or(WebError::NotFound)
        .page(&ctx, &path)?;
    let row = masked(user, vec![row]).remove(0);
    let events = complaints::events(&state.store, id)
        .await
        .page(&ctx, &path)?;
    let csrf = ctx.csrf().await;
    let button = |action: &str, label: Text, extra: Markup| {
        html! {
            form.inline method="post" action={ "/complaints/" (id) "/" (action) } {
                input type="hidden" name="csrf" value=(csrf);
                (extra)
                button type="submit" id={ "complaint-" (action) } { (label.get(lang)) }
            }
        }
    };
    let none = html! {};
    let body = html! {
        section id="complaint" {
            dl {
                dt { (t::NAME.get(lang)) } dd { a href={ "/customers/" (row.customer_id) } { (row.customer_name) } }
                dt { (t::CATEGORY.get(lang)) } dd { (category_name(&row.category, lang)) }
                dt { (t::CHANNEL.get(lang)) } dd { (row.channel.as_deref().unwrap_or("—")) }
                dt { (t::SEVERITY.get(lang)) } dd { (if row.severity == "high" { t::SEVERITY_HIGH.get(lang) } else { t::SEVERITY_NORMAL.get(lang) }) }
                dt { (t::STATUS.get(lang)) } dd id="complaint-status" { (status_name(&row.status).get(lang)) }
                dt { (t::DESCRIPTION.get(lang)) } dd { (row.description) }
                dt { (t::RECEIVED.get(lang)) } dd { (crate::ui::when(&row.opened_at)) " · " (row.opened_by.as_deref().unwrap_or("")) }
                dt { (t::SLA_DUE.get(lang)) } dd id="complaint-sla" { (crate::ui::when(&row.sla_due_at)) " · " (sla_cell(&row, lang)) }
                dt { (t::OWNER.get(lang)) } dd { (row.owner.as_deref().unwrap_or("—")) }
                @if let Some(r) = &row.resolution { dt { (t::RESOLUTION.get(lang)) } dd { (r) } }
            }
            p {
                @match row.status.as_str() {
                    "open" => {
                        (button("start", t::ACT_START, none.clone())) " "
                        (button("escalate", t::ACT_ESCALATE, none.clone()))
                    }
                    "in_progress" => { (button("escalate", t::ACT_ESCALATE, none.clone())) }
                    _ => {}
                }
            }
            @if rules::is_unresolved(&row.status) {
                (button("resolve", t::ACT_RESOLVE, html! {
                    input name="note" id="complaint-note" required size="30" placeholder=(t::RESOLUTION.get(lang)); " "
                }))
            }
            @if row.status == "resolved" {
                p { (button("reopen", t::ACT_REOPEN, none.clone())) }
                @if row.owner_user_id == Some(user.id) {
                    // The owner is the one rated: the customer answers an SMS invitation.
                    (button("close", t::ACT_CLOSE, html! {
                        span.muted id="complaint-survey-note" { (t::SURVEY_INVITED.get(lang)) } " "
                    }))
                } @else {
                    // A colleague may enter what the customer told them.
                    (button("close", t::ACT_CLOSE, html! {
                        label { (t::CSAT.get(lang)) " " input type="number" name="csat" id="complaint-csat" min="1" max="5" size="2"; } " "
                        label { (t::NPS.get(lang)) " " input type="number" name="nps" id="complaint-nps" min="0" max="10" size="2"; } " "
                        input name="comment" size="16" maxlength="1000" placeholder=(t::NOTES.get(lang)); " "
                    }))
                }
            }
        }
        section id="complaint-steps" {
            h2 { (t::STEPS.get(lang)) }
            table { tbody { @for e in &events { tr {
                td { (crate::ui::when(&e.at)) } td { (e.actor) } td { span.tag { (status_name(&e.status).get(lang)) } } td { (e.note.as_deref().unwrap_or("")) }
            } } } }
        }
    };
    Ok(layout(
        lang,
        Some(user),
        &csrf,
        &format!("{} #{id}", t::COMPLAINTS.get(lang)),
        body,
    )
    .into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/complaints", get(list_page))
        .route("/complaints/{id}", get(detail_page))
        .route("/complaints/{id}/{action}", post(form_step))
        .route("/customers/{id}/complaints", post(form_open))
        .route("/api/complaints", get(api_list).post(api_open))
        .route("/api/complaints/{id}", get(api_get))
        .route("/api/complaints/{id}/{action}", post(api_step))
        .route("/api/surveys", post(api_survey))
        .route("/api/satisfaction", get(api_satisfaction))
}
