//! What can go wrong in the studio, and how the page is told: a status and `{"error": "..."}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An error of the studio: at start-up, or answering a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StudioError {
    /// The model could not be loaded.
    #[error("loading the model: {0}")]
    Model(#[from] midigpt_compose::ComposeError),
    /// The synthesizer (a SoundFont) could not be loaded.
    #[error("loading the synthesizer: {0}")]
    Synth(#[from] midigpt_render::RenderError),
    /// The server's own folder could not be made.
    #[error("making the studio's temporary folder: {0}")]
    Folder(std::io::Error),
    /// The model worker stopped before it was ready.
    #[error("the model worker stopped while loading")]
    Worker,
    /// The address is taken or not ours.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// host:port
        addr: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("serving: {0}")]
    Serve(std::io::Error),
    /// The request is malformed or asks for what cannot be (422).
    #[error("{0}")]
    BadRequest(String),
    /// The upload is larger than the studio accepts (413).
    #[error("{0}")]
    TooLarge(String),
    /// No such score or job (404).
    #[error("{0}")]
    NotFound(String),
    /// The queue is full (503).
    #[error(
        "queue full: {waiting} requests are waiting for the model; try again when one has finished"
    )]
    QueueFull {
        /// Jobs waiting.
        waiting: usize,
    },
    /// Something failed on the server's side (500).
    #[error("{0}")]
    Internal(String),
}

impl StudioError {
    /// The HTTP status the page gets for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            StudioError::BadRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
            StudioError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            StudioError::NotFound(_) => StatusCode::NOT_FOUND,
            StudioError::QueueFull { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for StudioError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        (self.status(), Json(body)).into_response()
    }
}
