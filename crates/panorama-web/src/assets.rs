//! Files compiled into the binary and served as they are: Apache ECharts
//! (vendored from the npm registry, see `assets/echarts/README.md`), the
//! script that draws Panorama's charts with it, the segment builder's, the
//! header menu's and the live alerts'. No CDN: the workbench works
//! offline, inside a bank's network.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

const ECHARTS: &[u8] = include_bytes!("../assets/echarts/echarts.min.js");
const CHARTS: &[u8] = include_bytes!("../assets/charts.js");
const SEGMENTS: &[u8] = include_bytes!("../assets/segments.js");
const MENU: &[u8] = include_bytes!("../assets/menu.js");
const LIVE: &[u8] = include_bytes!("../assets/live.js");

fn script(body: &'static [u8]) -> Response {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // An hour: a new binary's script is picked up the same day.
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// `GET /assets/echarts.min.js`.
async fn echarts() -> Response {
    script(ECHARTS)
}

/// `GET /assets/charts.js`.
async fn charts() -> Response {
    script(CHARTS)
}

/// `GET /assets/segments.js`.
async fn segments() -> Response {
    script(SEGMENTS)
}

/// `GET /assets/menu.js`.
async fn menu() -> Response {
    script(MENU)
}

/// `GET /assets/live.js`.
async fn live() -> Response {
    script(LIVE)
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/assets/echarts.min.js", get(echarts))
        .route("/assets/charts.js", get(charts))
        .route("/assets/segments.js", get(segments))
        .route("/assets/menu.js", get(menu))
        .route("/assets/live.js", get(live))
}
