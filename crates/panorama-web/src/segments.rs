//! Segments for the marketing analyst: a builder (a feature from the
//! catalogue, an operator and a value per line, lines joined with and/or)
//! that shows the condition it makes and counts its customers as it is
//! edited; saving it as a rule segment the batch refreshes; starting a
//! campaign from it. The count and the save go through the same condition
//! language and checks as the CLI (`panorama segment`).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::error::WebError;
use crate::extract::{CsrfForm, HasCsrf, Require, perm};
use crate::i18n::{self as t, Lang};
use crate::ui::{OrPage, PageError, layout, urlencode};

/// `GET /api/features`: the feature catalogue — name, type, unit and
/// meaning (zh, en) of every feature a condition may use.
pub async fn api_features(_: Require<perm::DesignCampaigns>) -> Response {
    let features: Vec<_> = panorama_analytics::catalogue::catalogue()
        .into_iter()
        .map(|f| {
            json!({
                "name": f.name,
                "type": f.kind.word(),
                "unit": f.unit,
                "meaning": f.meaning,
                "meaning_zh": f.meaning_zh,
            })
        })
        .collect();
    Json(json!({ "features": features })).into_response()
}

/// `GET /segments`: the builder and the saved segments.
pub async fn page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::DesignCampaigns>,
) -> Result<Response, PageError> {
    let path = "/segments";
    let lang = ctx.lang;
    let csrf = ctx.csrf().await;
    let saved = panorama_store::acrm::segments(&state.store)
        .await
        .page(&ctx, path)?;
    let tiers: Vec<(String, String)> = state
        .config
        .tiers
        .iter()
        .map(|t| {
            let name = if lang == Lang::Zh { &t.zh } else { &t.en };
            (t.code.clone(), name.clone())
        })
        .collect();
    let body = html! {
        section id="builder" {
            h2 { (t::SEGMENT_BUILDER.get(lang)) }
            p.muted { (t::SEGMENT_BUILDER_HINT.get(lang)) }
            // The builder's lines (drawn by /assets/segments.js from the
            // catalogue at /api/features).
            div id="seg-lines" data-tiers=(serde_json::to_string(&tiers).unwrap_or_default()) {}
            button type="button" id="seg-add" { "+ " (t::ADD_CONDITION.get(lang)) }
            p { (t::CONDITION.get(lang)) "：" code id="seg-text" { "—" } }
            p id="seg-count" aria-live="polite" { (t::SEGMENT_COUNT.get(lang)) "：" strong id="seg-n" { "—" } " " span.muted id="seg-as-of" {} }
            form method="post" action="/segments" id="seg-save" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="condition" id="seg-condition";
                label { (t::SEGMENT_NAME.get(lang)) " " input name="name" id="seg-name" required maxlength="64" size="24"; } " "
                label { (t::DESCRIPTION.get(lang)) " " input name="description" id="seg-description" maxlength="200" size="32"; } " "
                button type="submit" id="seg-submit" { (t::SAVE_SEGMENT.get(lang)) }
            }
        }
        section id="saved-segments" {
            h2 { (t::SAVED_SEGMENTS.get(lang)) " (" (saved.len()) ")" }
            @if saved.is_empty() { p.muted { (t::NONE.get(lang)) } } @else {
                table { thead { tr {
                    th { (t::SEGMENT_NAME.get(lang)) } th { (t::CONDITION.get(lang)) } th.n { (t::MEMBERS.get(lang)) }
                    th { (t::AS_OF.get(lang)) } th { (t::CREATED_BY.get(lang)) } th {}
                } } tbody { @for s in &saved { tr {
                    td { (s.name) @if let Some(d) = &s.description { br; span.muted { (d) } } }
                    td { code { (s.definition) } }
                    td.n { (s.member_count.map_or_else(|| "—".to_owned(), |n| n.to_string())) }
                    td { (s.refreshed_on.as_deref().unwrap_or("—")) }
                    td { (s.created_by) }
                    td { @if s.kind == "rule" {
                        a href={ "/campaigns/new?segment=" (urlencode(&s.definition)) } { (t::START_CAMPAIGN.get(lang)) }
                    } }
                } } }
                }
            }
        }
        script src="/assets/segments.js" defer {}
    };
    Ok(layout(
        lang,
        Some(&user),
        &ctx.csrf().await,
        t::SEGMENT_LIST.get(lang),
        body,
    )
    .into_response())
}

/// The save form.
#[derive(Debug, Deserialize)]
pub struct SaveForm {
    csrf: String,
    name: String,
    condition: String,
    description: Option<String>,
}

impl HasCsrf for SaveForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /segments`: saves the condition as a rule segment (its members
/// taken from the latest features, refreshed by every batch); audited by
/// the analytics layer with the user's name.
pub async fn save(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::DesignCampaigns>,
    CsrfForm(f): CsrfForm<SaveForm>,
) -> Result<Response, PageError> {
    let path = "/segments";
    let a = state
        .config
        .analytics
        .as_ref()
        .ok_or_else(|| {
            WebError::Conflict(
                "segments need the analytics directory: serve with --analytics".into(),
            )
        })
        .page(&ctx, path)?;
    let description = f
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    panorama_analytics::saved_segments::save_rule(
        &state.store,
        &a.dir,
        &a.config,
        f.name.trim(),
        f.condition.trim(),
        description,
        &user.username,
    )
    .await
    .map_err(WebError::from)
    .page(&ctx, path)?;
    Ok(Redirect::to(path).into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/segments", get(page).post(save))
        .route("/api/features", get(api_features))
}
