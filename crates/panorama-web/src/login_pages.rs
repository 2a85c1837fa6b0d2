//! Signing in and out, the language switch and the page for an unknown
//! address. After login only a local path is followed.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Credentials;
use crate::context::{self, Ctx, LoginRefused};
use crate::error::WebError;
use crate::extract::{HasCsrf, TokenOnly};
use crate::i18n::{self as t, Lang};
use crate::ui::{OrPage, PageError, layout};

/// Only local paths are followed after login (no open redirect): a `/`
/// and then not a second slash, and no backslash, whitespace or control
/// character anywhere (browsers drop tabs and newlines, so `/\t/evil.example`
/// would become `//evil.example`).
fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n
                .chars()
                .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
    })
    .unwrap_or("/")
    .to_owned()
}

fn login_page(lang: Lang, next: &str, error: Option<&str>) -> Markup {
    let body = html! {
        section style="max-width:360px" {
            @if let Some(e) = error { p.err id="login-error" { (e) } }
            form method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                p { label { (t::USERNAME.get(lang)) br; input name="username" id="username" autocomplete="username" required; } }
                p { label { (t::PASSWORD.get(lang)) br; input type="password" name="password" id="password" autocomplete="current-password" required; } }
                p { button type="submit" id="login" { (t::LOGIN.get(lang)) } }
            }
        }
    };
    layout(lang, None, "", t::LOGIN.get(lang), body)
}

/// Query of the login page.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /login`.
pub async fn login_form(ctx: Ctx, Query(q): Query<NextQuery>) -> Response {
    if ctx.auth.user.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    login_page(ctx.lang, &safe_next(q.next.as_deref()), None).into_response()
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// `POST /login`.
pub async fn login(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    let next = safe_next(f.next.as_deref());
    let creds = Credentials {
        username: f.username,
        password: f.password,
    };
    match context::login(&state, &mut ctx, creds).await {
        Ok(_) => Ok(Redirect::to(&next).into_response()),
        Err(LoginRefused::Wrong) => Ok((
            StatusCode::UNAUTHORIZED,
            login_page(ctx.lang, &next, Some(t::LOGIN_FAILED.get(ctx.lang))),
        )
            .into_response()),
        Err(LoginRefused::Locked) => Ok((
            StatusCode::TOO_MANY_REQUESTS,
            login_page(ctx.lang, &next, Some(t::LOGIN_LOCKED.get(ctx.lang))),
        )
            .into_response()),
        Err(LoginRefused::Error(e)) => Err(e).page(&ctx, "/login"),
    }
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Form(f): Form<TokenOnly>,
) -> Result<Response, PageError> {
    if ctx.auth.user.is_some() {
        ctx.check_csrf(f.csrf()).await.page(&ctx, "/logout")?;
    }
    context::logout(&state, &mut ctx)
        .await
        .page(&ctx, "/logout")?;
    Ok(Redirect::to("/login").into_response())
}

/// `GET /lang/{zh|en}`: remembers the language and goes back.
pub async fn set_lang(Path(lang): Path<String>, headers: HeaderMap) -> Response {
    let lang = Lang::parse(&lang);
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()));
    let value = format!(
        "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
        if lang == Lang::En { "en" } else { "zh" }
    );
    (
        [(header::SET_COOKIE, value)],
        Redirect::to(&safe_next(back.as_deref())),
    )
        .into_response()
}

/// Any unknown path.
pub async fn not_found(ctx: Ctx) -> Response {
    PageError::new(ctx.lang, WebError::NotFound, "").into_response()
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/lang/{lang}", get(set_lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/customers/5")), "/customers/5");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        // Browsers drop tabs and newlines, and read a backslash as a slash.
        for sneaky in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\\evil.example",
            "/ /evil",
        ] {
            assert_eq!(safe_next(Some(sneaky)), "/", "{sneaky:?}");
        }
        assert_eq!(safe_next(Some("/customers?q=a%20b")), "/customers?q=a%20b");
    }
}
