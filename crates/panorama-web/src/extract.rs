//! Extractors that do what every handler would otherwise write by hand:
//! [`Require`] (logged in, and the role may do `P`), [`ApiCsrf`] (an API
//! write carries the session's CSRF token in `X-CSRF-Token`) and
//! [`CsrfForm`] (a form carries it in its `csrf` field). A refusal answers
//! as the request expects it: JSON for `/api/…` and downloads, a page or
//! the login redirect for everything else.

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request};
use axum::http::request::Parts;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::auth::User;
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::Lang;
use crate::ui::{PageError, urlencode};

pub use crate::auth::{Perm, perm};

/// A refused request, answered the way its path expects.
#[derive(Debug)]
pub struct Rejection {
    error: WebError,
    lang: Lang,
    api: bool,
    /// Where the login page sends the user back to.
    next: String,
}

impl Rejection {
    fn of(parts: &Parts, lang: Lang, error: WebError) -> Rejection {
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |u| &u.0);
        Rejection {
            error,
            lang,
            // The API and downloads (`members.csv`, `dashboard.xlsx`) answer
            // with a status; pages with the login form or an error page.
            api: uri.path().starts_with("/api/")
                || uri
                    .path()
                    .rsplit('/')
                    .next()
                    .is_some_and(|f| f.contains('.')),
            next: back_to(&parts.method, uri),
        }
    }
}

/// The page to return to after logging in: the page itself for a GET; the
/// workbench after a form's POST (its page is not known without a referrer,
/// which the app never sends, and a POST's own path is no page).
fn back_to(method: &Method, uri: &Uri) -> String {
    if method == Method::GET {
        uri.path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned())
    } else {
        "/".to_owned()
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        if self.api {
            return self.error.into_response();
        }
        if matches!(self.error, WebError::Unauthorized) {
            let next = urlencode(&self.next);
            return Redirect::to(&format!("/login?next={next}")).into_response();
        }
        PageError::new(self.lang, self.error, &self.next).into_response()
    }
}

/// The request's context and its user, whose role may do `P`.
pub struct Require<P: Perm> {
    /// The request's context.
    pub ctx: Ctx,
    /// The logged-in user.
    pub user: User,
    _perm: PhantomData<P>,
}

impl<P: Perm> FromRequestParts<AppState> for Require<P> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Rejection> {
        let ctx = Ctx::from_request_parts(parts, state)
            .await
            .map_err(|e| Rejection::of(parts, Lang::default(), e))?;
        match ctx.require(P::P) {
            Ok(user) => Ok(Require {
                user: user.clone(),
                ctx,
                _perm: PhantomData,
            }),
            Err(e) => Err(Rejection::of(parts, ctx.lang, e)),
        }
    }
}

/// An API write whose `X-CSRF-Token` header matches the session's token.
pub struct ApiCsrf;

impl FromRequestParts<AppState> for ApiCsrf {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Rejection> {
        let ctx = Ctx::from_request_parts(parts, state)
            .await
            .map_err(|e| Rejection::of(parts, Lang::default(), e))?;
        ctx.check_csrf_header(&parts.headers)
            .await
            .map_err(|e| Rejection::of(parts, ctx.lang, e))?;
        Ok(ApiCsrf)
    }
}

/// A submitted form that names its CSRF token.
pub trait HasCsrf {
    /// The token the form carried.
    fn csrf(&self) -> &str;
}

/// A form that carries only the CSRF token.
#[derive(Debug, serde::Deserialize)]
pub struct TokenOnly {
    csrf: String,
}

impl HasCsrf for TokenOnly {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A form whose `csrf` field matches the session's token.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + HasCsrf + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        let (mut parts, body) = req.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, state)
            .await
            .map_err(|e| Rejection::of(&parts, Lang::default(), e))?;
        let lang = ctx.lang;
        let request = Request::from_parts(parts.clone(), body);
        let axum::Form(form) = axum::Form::<T>::from_request(request, state)
            .await
            .map_err(|e| Rejection::of(&parts, lang, WebError::BadRequest(e.body_text())))?;
        ctx.check_csrf(form.csrf())
            .await
            .map_err(|e| Rejection::of(&parts, lang, e))?;
        Ok(CsrfForm(form))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_login_a_page_returns_to_itself_and_a_form_to_the_workbench() {
        let uri = |s: &str| s.parse::<Uri>().unwrap_or_default();
        assert_eq!(
            back_to(&Method::GET, &uri("/customers?page=2")),
            "/customers?page=2"
        );
        assert_eq!(back_to(&Method::POST, &uri("/customers/7/contacts")), "/");
    }
}
