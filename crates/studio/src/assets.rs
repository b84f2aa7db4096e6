//! The page: HTML, CSS and JavaScript compiled into the binary (no network, no build step).

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

const INDEX: &str = include_str!("../assets/index.html");
/// The other files of the page: name, type, contents.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "studio.css",
        "text/css",
        include_str!("../assets/studio.css"),
    ),
    (
        "roll.js",
        "text/javascript",
        include_str!("../assets/roll.js"),
    ),
    (
        "app.js",
        "text/javascript",
        include_str!("../assets/app.js"),
    ),
];

/// `GET /`.
pub async fn index() -> Html<&'static str> {
    Html(INDEX)
}

/// `GET /{asset}`: one of [`ASSETS`], else 404.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.0 == name) {
        Some((_, mime, body)) => {
            let headers = [
                (header::CONTENT_TYPE, format!("{mime}; charset=utf-8")),
                (header::CACHE_CONTROL, "no-cache".to_owned()),
            ];
            (headers, *body).into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
