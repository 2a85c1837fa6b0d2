//! The auditor's trail search: who did what, when, from where, filtered by
//! user, action and dates; the search itself is audited.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use panorama_store::ocrm::{self, AuditFilter};

use crate::AppState;
use crate::context;
use crate::extract::{Require, perm};
use crate::i18n as t;
use crate::ui::{OrPage, PageError, layout};

/// `GET /audit`: the auditor's search of the trail.
pub async fn audit_page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewAudit>,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, PageError> {
    let user = &user;
    context::check_audit_dates(&filter).page(&ctx, "/audit")?;
    let rows = ocrm::audit_search(&state.store, &filter, 500)
        .await
        .page(&ctx, "/audit")?;
    ctx.audit(
        &state,
        ocrm::Audit {
            action: "audit.search",
            customer_id: filter.customer,
            detail: Some(&format!("{} events", rows.len())),
            ..ocrm::Audit::default()
        },
    )
    .await
    .page(&ctx, "/audit")?;
    let lang = ctx.lang;
    let csrf = ctx.csrf().await;
    let body = html! {
        section { form method="get" action="/audit" {
            label { (t::ACTOR.get(lang)) " " input name="actor" size="10" value=(filter.actor.as_deref().unwrap_or("")); } " "
            label { (t::CUSTOMERS.get(lang)) " " input name="customer" size="8" value=(filter.customer.map(|c| c.to_string()).unwrap_or_default()); } " "
            label { (t::ACTION.get(lang)) " " input name="action" size="12" value=(filter.action.as_deref().unwrap_or("")); } " "
            label { (t::FROM.get(lang)) " " input type="date" name="from" value=(filter.from.as_deref().unwrap_or("")); } " "
            label { (t::TO.get(lang)) " " input type="date" name="to" value=(filter.to.as_deref().unwrap_or("")); } " "
            button type="submit" { (t::FILTER.get(lang)) }
        } }
        section { table id="audit" { thead { tr {
            th { (t::TIME.get(lang)) } th { (t::ACTOR.get(lang)) } th { (t::ACTION.get(lang)) } th { (t::CUSTOMERS.get(lang)) }
            th { (t::RESULT.get(lang)) } th { (t::REASON.get(lang)) } th { (t::FROM_IP.get(lang)) } th { (t::DETAIL.get(lang)) }
        } } tbody { @for r in &rows { tr {
            td { (crate::ui::when(&r.at)) } td { (r.actor) } td { (r.action) } td { (r.customer_id.map(|c| c.to_string()).unwrap_or_default()) }
            td { (r.outcome) } td { (r.reason.as_deref().unwrap_or("")) } td { (r.source_ip.as_deref().unwrap_or("")) }
            td { (r.detail.as_deref().unwrap_or("")) }
        } } } } }
    };
    Ok(layout(lang, Some(user), &csrf, t::AUDIT.get(lang), body).into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    axum::Router::new().route("/audit", axum::routing::get(audit_page))
}
