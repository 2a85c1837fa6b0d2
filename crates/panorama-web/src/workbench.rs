//! The RM's home (工作台): today's tasks and alerts, campaign leads with
//! their offers and scripts, the opportunity pipeline and the top of my
//! customers — sections each user may hide and reorder (kept as a
//! preference), each read only when shown.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use maud::{Markup, html};
use panorama_store::ocrm::{self, CustomerFilter};
use panorama_store::{campaigns, pipeline};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{Permission, User};
use crate::context::Ctx;
use crate::customer_pages::{alert_table, customer_table, recent_alerts, rule_name};
use crate::customers;
use crate::error::WebError;
use crate::extract::{ApiCsrf, CsrfForm, HasCsrf, Require, perm};
use crate::i18n::{self as t, Lang, Text};
use crate::mask::{self, Level};
use crate::ui::{OrPage, PageError, layout, yuan};

/// The sections, in their default order.
pub const SECTIONS: &[&str] = &[
    "tasks",
    "alerts",
    "leads",
    "targets",
    "pipeline",
    "customers",
];

/// The preference holding a user's sections.
const PREF: &str = "workbench";

fn title(section: &str) -> Text {
    match section {
        "tasks" => t::TASKS,
        "alerts" => t::ALERTS,
        "leads" => t::CAMPAIGN_LEADS,
        "pipeline" => t::PIPELINE,
        "targets" => t::MY_TARGETS,
        _ => t::MY_CUSTOMERS,
    }
}

/// Whether `user` may see `section` at all.
fn allowed(user: &User, section: &str) -> bool {
    match section {
        "leads" => user.can(Permission::RecordContact),
        "targets" => user.role == crate::auth::Role::Rm,
        "pipeline" => user.can(Permission::ViewPipeline),
        _ => true,
    }
}

/// The user's sections in order: their preference, or every section their
/// role may see.
pub async fn sections_of(state: &AppState, user: &User) -> Result<Vec<&'static str>, WebError> {
    let saved: Option<Vec<String>> = ocrm::user_pref(&state.store, user.id, PREF)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok());
    let chosen: Vec<&'static str> = match saved {
        Some(names) => names
            .iter()
            .filter_map(|n| SECTIONS.iter().find(|s| **s == n.as_str()).copied())
            .collect(),
        None => SECTIONS.to_vec(),
    };
    Ok(chosen.into_iter().filter(|s| allowed(user, s)).collect())
}

async fn save(state: &AppState, user: &User, sections: &[String]) -> Result<Vec<String>, WebError> {
    let mut kept: Vec<String> = Vec::new();
    for s in sections {
        if !SECTIONS.contains(&s.as_str()) {
            return Err(WebError::BadRequest(format!("section: {s}")));
        }
        if !kept.contains(s) {
            kept.push(s.clone());
        }
    }
    let value = serde_json::to_string(&kept).map_err(|e| WebError::Internal(e.to_string()))?;
    ocrm::set_user_pref(&state.store, user.id, PREF, &value).await?;
    Ok(kept)
}

/// Body of `POST /api/me/workbench`.
#[derive(Debug, Deserialize)]
pub struct LayoutBody {
    sections: Vec<String>,
}

/// `POST /api/me/workbench`: the caller's sections, in order.
pub async fn api_layout(
    State(state): State<AppState>,
    Require { user, .. }: Require<perm::ViewCustomers>,
    _: ApiCsrf,
    Json(body): Json<LayoutBody>,
) -> Result<Response, WebError> {
    let kept = save(&state, &user, &body.sections).await?;
    Ok(Json(json!({"sections": kept})).into_response())
}

/// `POST /workbench/layout`: `show_<section>=on` and `order_<section>=N`.
pub async fn form_layout(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewCustomers>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    ctx.check_csrf(csrf).await.page(&ctx, "/")?;
    let value = |key: String| {
        fields
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.trim())
    };
    let mut shown: Vec<(i64, usize, String)> = SECTIONS
        .iter()
        .enumerate()
        .filter(|(_, s)| value(format!("show_{s}")).is_some())
        .map(|(k, s)| {
            let order = value(format!("order_{s}"))
                .and_then(|o| o.parse::<i64>().ok())
                .unwrap_or(k as i64 + 1);
            (order, k, (*s).to_owned())
        })
        .collect();
    shown.sort();
    let sections: Vec<String> = shown.into_iter().map(|(_, _, s)| s).collect();
    save(&state, &user, &sections).await.page(&ctx, "/")?;
    Ok(Redirect::to("/").into_response())
}

/// `GET /`: the workbench.
pub async fn page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = ctx.user().page(&ctx, "/")?;
    if !user.can(Permission::ViewCustomers) {
        let target = if user.can(Permission::ManageUsers) {
            "/users"
        } else {
            "/audit"
        };
        return Ok(Redirect::to(target).into_response());
    }
    let lang = ctx.lang;
    let csrf = ctx.csrf().await;
    let sections = sections_of(&state, user).await.page(&ctx, "/")?;
    let mut parts = Vec::with_capacity(sections.len());
    for s in &sections {
        let part = match *s {
            "tasks" => tasks(&state, user, lang, &csrf).await,
            "alerts" => alerts(&state, user, lang).await,
            "leads" => leads(&state, user, lang, &csrf).await,
            "pipeline" => pipeline_summary(&state, user, lang).await,
            "targets" => crate::targets::mine(&state, user, lang).await,
            _ => customers(&state, user, lang).await,
        }
        .page(&ctx, "/")?;
        parts.push(part);
    }
    let body = html! {
        div.grid { @for part in &parts { (part) } }
        details id="arrange" {
            summary { (t::ARRANGE.get(lang)) }
            form method="post" action="/workbench/layout" {
                input type="hidden" name="csrf" value=(csrf);
                table { thead { tr { th { (t::SHOW.get(lang)) } th { (t::ORDER.get(lang)) } th {} } }
                tbody { @for (k, s) in SECTIONS.iter().enumerate() { @if allowed(user, s) {
                    @let at = sections.iter().position(|x| x == s);
                    tr {
                        td { input type="checkbox" name={ "show_" (s) } checked[at.is_some()]; }
                        td { input type="number" name={ "order_" (s) } value=(at.unwrap_or(k) + 1) min="1" max="9" size="2"; }
                        td { (title(s).get(lang)) }
                    }
                } } } }
                button type="submit" id="save-layout" { (t::SAVE.get(lang)) }
            }
        }
    };
    Ok(layout(lang, Some(user), &csrf, t::WORKBENCH.get(lang), body).into_response())
}

async fn tasks(state: &AppState, user: &User, lang: Lang, csrf: &str) -> Result<Markup, WebError> {
    let tasks = ocrm::open_tasks(&state.store, user.id, 50).await?;
    Ok(html! {
        section id="tasks" {
            h2 { (t::TASKS.get(lang)) " (" (tasks.len()) ")" }
            @if tasks.is_empty() { p.muted { (t::NO_TASKS.get(lang)) } }
            table { tbody { @for task in &tasks { tr {
                td { (task.due_on.as_deref().unwrap_or("—")) }
                td { @if let Some(r) = &task.rule { span class={ "tag " (r) } { (rule_name(r, lang)) } } }
                td {
                    @let title = match (lang, &task.title_en) {
                        (Lang::En, Some(en)) => en.as_str(),
                        _ => task.title.as_str(),
                    };
                    @if let Some(c) = task.customer_id {
                        a href={ "/customers/" (c) } { (title) }
                    } @else { (title) }
                }
                td { form.inline method="post" action={ "/tasks/" (task.id) "/done" } {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { (t::DONE.get(lang)) }
                } }
            } } } }
        }
    })
}

async fn alerts(state: &AppState, user: &User, lang: Lang) -> Result<Markup, WebError> {
    let alerts = recent_alerts(state, user).await?;
    // The live stream starts after the newest alert this page saw, so an
    // alert raised while the page loads is not missed.
    let after = ocrm::max_alert_id(&state.store).await?;
    Ok(html! {
        section id="alerts" data-after=(after) {
            h2 { (t::ALERTS.get(lang)) " (" (alerts.len()) ")" }
            (alert_table(&alerts, lang, true))
        }
    })
}

async fn leads(state: &AppState, user: &User, lang: Lang, csrf: &str) -> Result<Markup, WebError> {
    let groups = campaigns::leads_of(&state.store, user.id, 5).await?;
    let level = Level::for_role(user.role);
    Ok(html! {
        section id="leads" {
            h2 { (t::CAMPAIGN_LEADS.get(lang)) }
            @if groups.is_empty() { p.muted { (t::NONE.get(lang)) } }
            @for g in &groups {
                h3 { (g.name) " · " (t::OPEN_LEADS.get(lang)) " " (g.open)
                     @if g.open >= campaigns::LEADS_COUNTED { "+" }
                     @if let Some(e) = &g.ends_on { " · " (t::ENDS_ON.get(lang)) " " (e) } }
                @for (arm, product, script) in &g.offers {
                    p { span.tag { (arm) } (product.as_deref().unwrap_or("")) " "
                        @if let Some(s) = script { span.muted { (t::SCRIPT.get(lang)) "：" (s) } } }
                }
                table { tbody { @for l in &g.leads { tr {
                    td { a href={ "/customers/" (l.customer_id) } { (mask::name(&l.name, &l.customer_no, level)) } }
                    td { @if let Some(a) = &l.arm { span.tag { (a) } } }
                    td { (l.due_on.as_deref().unwrap_or("—")) }
                    td { form.inline method="post" action={ "/leads/" (l.task_id) } {
                        input type="hidden" name="csrf" value=(csrf);
                        select name="outcome" id={ "lead-outcome-" (l.task_id) } {
                            @for (code, label) in [("accepted", t::LEAD_ACCEPTED), ("interested", t::LEAD_INTERESTED), ("declined", t::LEAD_DECLINED), ("no_answer", t::LEAD_NO_ANSWER)] {
                                option value=(code) { (label.get(lang)) }
                            }
                        } " "
                        button type="submit" id={ "lead-save-" (l.task_id) } { (t::RECORD_OUTCOME.get(lang)) }
                    } }
                } } } }
            }
        }
    })
}

async fn pipeline_summary(state: &AppState, user: &User, lang: Lang) -> Result<Markup, WebError> {
    let since = (chrono::Utc::now().date_naive() - chrono::Days::new(90)).to_string();
    let cells = pipeline::pipeline(&state.store, &user.scope(), &since).await?;
    Ok(html! {
        section id="pipeline" {
            h2 { (t::PIPELINE.get(lang)) " · " a href="/opportunities" { "»" } }
            table { tbody { @for s in pipeline::STAGES {
                @let (n, a) = cells.iter().filter(|c| c.stage == *s)
                    .fold((0, 0), |(n, a), c| (n + c.opportunities, a + c.amount_minor));
                tr { td { (crate::pipeline::stage_name(s).get(lang)) } td.n { (n) } td.n { (yuan(Some(a))) } }
            } } }
        }
    })
}

async fn customers(state: &AppState, user: &User, lang: Lang) -> Result<Markup, WebError> {
    let (rows, total) = ocrm::customers(
        &state.store,
        &user.scope(),
        &CustomerFilter::default(),
        0,
        10,
    )
    .await?;
    let rows = customers::list_items(user, rows);
    Ok(html! {
        section id="my-customers" {
            h2 { (t::MY_CUSTOMERS.get(lang)) " · " (t::TOTAL.get(lang)) " " (total) " · " a href="/customers" { "»" } }
            (customer_table(state, lang, &rows))
        }
    })
}

/// The outcome of a campaign call.
#[derive(Debug, Deserialize)]
pub struct LeadForm {
    csrf: String,
    outcome: String,
}

impl HasCsrf for LeadForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

async fn lead_outcome(
    state: &AppState,
    user: &User,
    task: i64,
    outcome: &str,
) -> Result<(), WebError> {
    let today = chrono::Local::now().date_naive().to_string();
    campaigns::record_lead_outcome(
        &state.store,
        task,
        user.id,
        outcome.trim(),
        &today,
        &user.username,
    )
    .await?
    .ok_or(WebError::NotFound)?;
    Ok(())
}

/// `POST /leads/{task}`: the workbench's form.
pub async fn form_lead(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::RecordContact>,
    axum::extract::Path(task): axum::extract::Path<i64>,
    CsrfForm(f): CsrfForm<LeadForm>,
) -> Result<Response, PageError> {
    lead_outcome(&state, &user, task, &f.outcome)
        .await
        .page(&ctx, "/")?;
    Ok(Redirect::to("/#leads").into_response())
}

/// `POST /api/leads/{task}` with `{"outcome": "accepted"|"interested"|"declined"|"no_answer"}`:
/// an accepted call is the campaign's response.
pub async fn api_lead(
    State(state): State<AppState>,
    Require { user, .. }: Require<perm::RecordContact>,
    _: ApiCsrf,
    axum::extract::Path(task): axum::extract::Path<i64>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, WebError> {
    let outcome = body["outcome"].as_str().unwrap_or_default();
    lead_outcome(&state, &user, task, outcome).await?;
    Ok(Json(json!({"task": task, "outcome": outcome})).into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/", get(page))
        .route("/workbench/layout", post(form_layout))
        .route("/leads/{task}", post(form_lead))
        .route("/api/leads/{task}", post(api_lead))
        .route("/api/me/workbench", post(api_layout))
}
