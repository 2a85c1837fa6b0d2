//! The customer's side of a survey: the page an invitation's SMS links to
//! (`/survey/{token}`), answered without a login. The token is the only key:
//! 128 random bits, kept in the store as a SHA-256 only, valid for a set
//! number of days and for one answer. Staff cannot reach it: the token
//! leaves the bank only in the SMS gateway's file ([`mint`] is used by
//! `panorama survey send`).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use panorama_store::surveys::{self, Answered, Rating};
use serde::Deserialize;
use sha2::Digest;

use crate::AppState;
use crate::context::Ctx;
use crate::i18n::{self as t, Lang};
use crate::ui::layout;

/// A new one-time token and the hash the store keeps of it.
pub fn mint() -> (String, String) {
    let bytes: [u8; 16] = rand::random();
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let hash = token_hash(&token);
    (token, hash)
}

/// The hash the store keeps of `token`.
pub fn token_hash(token: &str) -> String {
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `token` looks like one [`mint`] makes (anything else is not looked up).
fn well_formed(token: &str) -> bool {
    token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

fn page(lang: Lang, status: StatusCode, body: Markup) -> Response {
    (
        status,
        layout(lang, None, "", t::SURVEY_TITLE.get(lang), body),
    )
        .into_response()
}

fn message(lang: Lang, status: StatusCode, text: t::Text) -> Response {
    page(
        lang,
        status,
        html! { section id="survey" { p id="survey-message" { (text.get(lang)) } } },
    )
}

/// `GET /survey/{token}`: the questions, or why they cannot be answered.
pub async fn form(State(state): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> Response {
    let lang = ctx.lang;
    if !well_formed(&token) {
        return message(lang, StatusCode::NOT_FOUND, t::SURVEY_UNKNOWN);
    }
    let invitation = match surveys::invitation(&state.store, &token_hash(&token)).await {
        Ok(Some(i)) => i,
        Ok(None) => return message(lang, StatusCode::NOT_FOUND, t::SURVEY_UNKNOWN),
        Err(e) => {
            tracing::error!(error = %e, "survey page failed");
            return message(lang, StatusCode::INTERNAL_SERVER_ERROR, t::SURVEY_UNKNOWN);
        }
    };
    if invitation.status == "answered" {
        return message(lang, StatusCode::CONFLICT, t::SURVEY_DONE);
    }
    let now = panorama_store::now_utc();
    if invitation.expires_at.is_some_and(|e| e < now) {
        return message(lang, StatusCode::GONE, t::SURVEY_EXPIRED);
    }
    let about = if invitation.kind == "complaint" {
        t::SURVEY_ABOUT_COMPLAINT
    } else {
        t::SURVEY_ABOUT_CONTACT
    };
    let body = html! {
        section id="survey" {
            p { (about.get(lang)) }
            form method="post" action={ "/survey/" (token) } {
                fieldset {
                    legend { (t::SURVEY_CSAT_Q.get(lang)) }
                    @for v in 1..=5 {
                        label { input type="radio" name="csat" value=(v) id={ "survey-csat-" (v) }; " " (v) } " "
                    }
                }
                fieldset {
                    legend { (t::SURVEY_NPS_Q.get(lang)) }
                    @for v in 0..=10 {
                        label { input type="radio" name="nps" value=(v) id={ "survey-nps-" (v) }; " " (v) } " "
                    }
                }
                p { label { (t::SURVEY_COMMENT.get(lang)) br; textarea name="comment" id="survey-comment" rows="3" cols="40" maxlength="1000" {} } }
                button type="submit" id="survey-submit" { (t::SURVEY_SUBMIT.get(lang)) }
            }
        }
    };
    page(lang, StatusCode::OK, body)
}

/// The survey form.
#[derive(Debug, Deserialize)]
pub struct Answer {
    csat: Option<String>,
    nps: Option<String>,
    comment: Option<String>,
}

fn number(raw: Option<&str>) -> Result<Option<i64>, ()> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| ()),
    }
}

/// `POST /survey/{token}`: the customer's answer.
pub async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Form(a): Form<Answer>,
) -> Response {
    let lang = ctx.lang;
    if !well_formed(&token) {
        return message(lang, StatusCode::NOT_FOUND, t::SURVEY_UNKNOWN);
    }
    let (Ok(csat), Ok(nps)) = (number(a.csat.as_deref()), number(a.nps.as_deref())) else {
        return message(lang, StatusCode::BAD_REQUEST, t::SURVEY_CSAT_Q);
    };
    let rating = Rating {
        csat,
        nps,
        comment: a
            .comment
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty()),
    };
    let now = panorama_store::now_utc();
    match surveys::answer_invitation(&state.store, &token_hash(&token), &rating, &now).await {
        Ok(Answered::Recorded) => message(lang, StatusCode::OK, t::SURVEY_THANKS),
        Ok(Answered::AlreadyAnswered) => message(lang, StatusCode::CONFLICT, t::SURVEY_DONE),
        Ok(Answered::Expired) => message(lang, StatusCode::GONE, t::SURVEY_EXPIRED),
        Ok(Answered::NotFound | Answered::SelfRating) => {
            message(lang, StatusCode::NOT_FOUND, t::SURVEY_UNKNOWN)
        }
        Err(panorama_store::StoreError::Invalid(m)) => page(
            lang,
            StatusCode::BAD_REQUEST,
            html! { section id="survey" { p.err id="survey-message" { (m) } } },
        ),
        Err(e) => {
            tracing::error!(error = %e, "survey answer failed");
            message(lang, StatusCode::INTERNAL_SERVER_ERROR, t::SURVEY_UNKNOWN)
        }
    }
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::get;
    axum::Router::new().route("/survey/{token}", get(form).post(submit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_only_their_hash_is_kept() {
        let (a, ha) = mint();
        let (b, _) = mint();
        assert_ne!(a, b);
        assert!(well_formed(&a), "{a}");
        assert_eq!(ha, token_hash(&a));
        assert_eq!(ha.len(), 64);
        assert!(!ha.contains(&a));
        assert!(!well_formed("../../etc"));
        assert!(!well_formed(&"g".repeat(32)));
    }
}
