//! Errors of the web app and how they answer: a page or JSON with a status,
//! never a panic and never internal detail to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use panorama_store::StoreError;

/// What went wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The session layer failed.
    #[error("session: {0}")]
    Session(#[from] tower_sessions::session::Error),
    /// Anything else internal.
    #[error("internal: {0}")]
    Internal(String),
    /// The request was malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the data's state (a decided review, an undone merge).
    #[error("{0}")]
    Conflict(String),
    /// Not found, or not in the caller's scope (the two look the same).
    #[error("not found")]
    NotFound,
    /// Logged in, but the role may not do this.
    #[error("forbidden")]
    Forbidden,
    /// Logged in and allowed in general, but not this time, for the reason given.
    #[error("{0}")]
    Refused(String),
    /// Not logged in.
    #[error("login required")]
    Unauthorized,
}

impl WebError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::Store(StoreError::Invalid(_)) | WebError::BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            WebError::Conflict(_) | WebError::Store(StoreError::Conflict(_)) => {
                StatusCode::CONFLICT
            }
            WebError::NotFound | WebError::Store(StoreError::NotFound(_)) => StatusCode::NOT_FOUND,
            WebError::Forbidden | WebError::Refused(_) => StatusCode::FORBIDDEN,
            WebError::Store(_) | WebError::Session(_) | WebError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            WebError::Unauthorized => StatusCode::UNAUTHORIZED,
        }
    }

    /// What the client is told.
    pub fn public_message(&self) -> String {
        match self {
            WebError::Store(
                StoreError::Invalid(m) | StoreError::NotFound(m) | StoreError::Conflict(m),
            )
            | WebError::BadRequest(m)
            | WebError::Conflict(m)
            | WebError::Refused(m) => m.clone(),
            WebError::Store(_) | WebError::Session(_) | WebError::Internal(_) => {
                "internal error".to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl From<panorama_ecif::store::ActionError> for WebError {
    fn from(e: panorama_ecif::store::ActionError) -> Self {
        match e {
            panorama_ecif::store::ActionError::Store(e) => WebError::Store(e),
            panorama_ecif::store::ActionError::Refused(m) => WebError::Conflict(m),
        }
    }
}

impl From<panorama_ocrm::OcrmError> for WebError {
    fn from(e: panorama_ocrm::OcrmError) -> Self {
        use panorama_ocrm::OcrmError as O;
        match e {
            O::Store(e) => WebError::Store(e),
            // Missing and out of scope look the same.
            O::NotFound(_) => WebError::NotFound,
            O::Conflict(m) => WebError::Conflict(m),
            O::Refused(m) => WebError::Refused(m),
            O::Invalid(m) => WebError::BadRequest(m),
        }
    }
}

impl From<panorama_analytics::AnalyticsError> for WebError {
    fn from(e: panorama_analytics::AnalyticsError) -> Self {
        use panorama_analytics::AnalyticsError as A;
        match e {
            A::Store(e) => WebError::Store(e),
            A::Invalid(m) => WebError::BadRequest(m),
            A::Condition(c) => WebError::BadRequest(c.to_string()),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        (
            status,
            axum::Json(serde_json::json!({"error": self.public_message()})),
        )
            .into_response()
    }
}
