//! The whole marketing programme's effect, measured on the year's universal
//! control group (`panorama_campaign::service::marketing_effect`): a page
//! for analysts, executives and branch managers, and the same as JSON.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use maud::{Markup, html};
use panorama_campaign::service::{self as ops, MarketingEffect, RateEffect};
use panorama_domain::money::Money;
use serde::Deserialize;

use crate::AppState;
use crate::campaigns::{pct, pp};
use crate::error::WebError;
use crate::extract::{Require, perm};
use crate::i18n::{self as t, Lang};
use crate::ui::{OrPage, PageError, layout};

/// `?year=&from=&to=&share=`, each optional (blank is the default).
#[derive(Debug, Default, Deserialize)]
pub struct EffectParams {
    year: Option<String>,
    from: Option<String>,
    to: Option<String>,
    share: Option<String>,
}

fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl EffectParams {
    fn query(&self) -> Result<ops::EffectQuery, WebError> {
        let date = |s: &Option<String>, name: &str| {
            given(s)
                .map(|d| {
                    NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map_err(|_| WebError::BadRequest(format!("{name}: YYYY-MM-DD, not {d}")))
                })
                .transpose()
        };
        Ok(ops::EffectQuery {
            year: given(&self.year)
                .map(|y| {
                    y.parse::<i32>()
                        .ok()
                        .filter(|y| (1900..=9999).contains(y))
                        .ok_or_else(|| WebError::BadRequest(format!("year: a year, not {y}")))
                })
                .transpose()?,
            from: date(&self.from, "from")?,
            to: date(&self.to, "to")?,
            share: given(&self.share)
                .map(|s| {
                    s.parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite())
                        .ok_or_else(|| WebError::BadRequest(format!("share: a number, not {s}")))
                })
                .transpose()?,
            // A GET never writes analytics state.
            compute_features: false,
        })
    }
}

async fn effect(state: &AppState, params: &EffectParams) -> Result<MarketingEffect, WebError> {
    let ask = params.query()?;
    let a = state.config.analytics.clone().ok_or_else(|| {
        WebError::Conflict(
            "the marketing effect needs the analytics directory: serve with --analytics".into(),
        )
    })?;
    let store = state.store.clone();
    // Reads two features files: off the request threads.
    tokio::spawn(async move { ops::marketing_effect(&store, &a.dir, &a.config, &ask).await })
        .await
        .map_err(|e| WebError::Internal(format!("marketing effect task: {e}")))?
        .map_err(WebError::from)
}

/// `GET /api/campaigns/effect`: the year's programme against its universal
/// control group.
pub async fn api_effect(
    State(state): State<AppState>,
    _: Require<perm::ViewAnalytics>,
    Query(params): Query<EffectParams>,
) -> Result<Response, WebError> {
    Ok(Json(effect(&state, &params).await?).into_response())
}

/// A mean or total in fen (a float) as yuan with thousands separators.
fn yuan(fen: f64) -> String {
    crate::ui::group(Money::from_minor(fen.round() as i64))
}

fn rate_row(name: &str, r: &RateEffect) -> Markup {
    html! { tr {
        td { (name) }
        td.n { (pct(r.marketed.rate)) " (" (r.marketed.responders) "/" (r.marketed.members) ")" }
        td.n { (pct(r.held_out.rate)) " (" (r.held_out.responders) "/" (r.held_out.members) ")" }
        td.n { (pp(r.lift.difference)) }
        td { (pp(r.lift.low)) " – " (pp(r.lift.high)) }
        td.n { (format!("{:.4}", r.lift.p_value)) }
        td.n { (format!("{:.0}", r.incremental)) }
    } }
}

fn table(e: &MarketingEffect, lang: Lang) -> Markup {
    let a = &e.aum_change;
    html! {
        p.muted id="effect-summary" {
            (t::EFFECT_GROUP.get(lang)) " " (e.period) " · " (pct(e.share)) " · "
            (e.campaigns.len()) " " (t::CAMPAIGNS.get(lang)) " · "
            (t::HELD_OUT.get(lang)) " " (e.held_out) " · " (t::MARKETED.get(lang)) " " (e.marketed) " · "
            (e.from) " → " (e.to)
        }
        @if e.held_out_treated > 0 {
            p.err id="effect-contaminated" { (e.held_out_treated) " " (t::EFFECT_CONTAMINATED.get(lang)) }
        }
        table id="effect" { thead { tr {
            th { (t::OUTCOME.get(lang)) } th.n { (t::MARKETED.get(lang)) } th.n { (t::HELD_OUT.get(lang)) }
            th.n { (t::EFFECT.get(lang)) } th { (t::INTERVAL.get(lang)) } th.n { "p" } th.n { (t::INCREMENTAL_TOTAL.get(lang)) }
        } } tbody {
            (rate_row(t::NEW_PRODUCT.get(lang), &e.uptake))
            (rate_row(t::ATTRITION.get(lang), &e.attrition))
            tr {
                td { (t::AUM_CHANGE.get(lang)) }
                td.n { (yuan(a.marketed.mean)) } td.n { (yuan(a.held_out.mean)) }
                td.n { (yuan(a.difference.difference)) }
                td { (yuan(a.difference.low)) " – " (yuan(a.difference.high)) }
                td.n { (format!("{:.4}", a.difference.p_value)) }
                td.n { (yuan(a.incremental_minor as f64)) }
            }
        } }
    }
}

/// `GET /campaigns/effect`: the form (year, dates, share) and the effect.
pub async fn effect_page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewAnalytics>,
    Query(params): Query<EffectParams>,
) -> Result<Response, PageError> {
    let path = "/campaigns/effect";
    let user = &user;
    let lang = ctx.lang;
    let result = effect(&state, &params).await;
    if let Err(e @ (WebError::Store(_) | WebError::Internal(_) | WebError::Session(_))) = result {
        return Err(e).page(&ctx, path);
    }
    let csrf = ctx.csrf().await;
    // The form shows what was asked, else what the defaults came to.
    let shown = result.as_ref().ok();
    let value = |s: &Option<String>, effective: Option<String>| {
        given(s)
            .map(str::to_owned)
            .or(effective)
            .unwrap_or_default()
    };
    let body = html! {
        p.muted { (t::EFFECT_ABOUT.get(lang)) }
        form method="get" action="/campaigns/effect" {
            label { (t::YEAR.get(lang)) " " input name="year" size="5" value=(value(&params.year, shown.map(|e| e.period.clone()))); }
            " "
            label { (t::FROM.get(lang)) " " input name="from" type="date" value=(value(&params.from, shown.map(|e| e.from.to_string()))); }
            " "
            label { (t::TO.get(lang)) " " input name="to" type="date" value=(value(&params.to, shown.map(|e| e.to.to_string()))); }
            " "
            label { (t::UNIVERSAL_CONTROL.get(lang)) " " input name="share" size="5" value=(value(&params.share, shown.map(|e| e.share.to_string()))); }
            " "
            button type="submit" { (t::SHOW.get(lang)) }
        }
        @match &result {
            Ok(e) => (table(e, lang)),
            Err(e) => p.err id="effect-error" { (e.public_message()) },
        }
    };
    Ok(layout(lang, Some(user), &csrf, t::MARKETING_EFFECT.get(lang), body).into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/campaigns/effect", get(effect_page))
        .route("/api/campaigns/effect", get(api_effect))
}
