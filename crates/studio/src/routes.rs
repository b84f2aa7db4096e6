//! The HTTP API and the page.
//!
//! | route | what |
//! |---|---|
//! | `GET /` and its assets | the page |
//! | `GET /api/model` | the model: name, tokenizer, size, controls it can express |
//! | `POST /api/scores?name=F` | a MIDI upload (the body) → the score as the page sees it |
//! | `GET /api/scores/{id}` | a score as the page sees it |
//! | `GET /api/scores/{id}/score.mid`, `audio.wav`, `roll.png` | its files (audio and
//!   picture from disk, with `Range` requests for seeking) |
//! | `POST /api/scores/{id}/insert` | a continuation put into the song it continues (the bars
//!   after the cut stay, later by the new ones) → the new score; any other score as it is |
//! | `POST /api/jobs` | a [`JobRequest`] → `{"id", "ahead"}` (202), or "queue full" (503) |
//! | `GET /api/jobs/{id}` | the job's status, events and latest preview (for polling) |
//! | `GET /api/jobs/{id}/events` | the same as server-sent events, until the job ends |
//! | `DELETE /api/jobs/{id}` | cancels the job |
//!
//! Errors are `{"error": "..."}` with a status saying whose fault: 413 too large, 422 a
//! request that cannot be, 404 unknown id, 503 queue full.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use midigpt_compose::{ComposeError, ModelPackage};
use midigpt_midi::Score;
use midigpt_model::GptBackend;
use midigpt_render::Renderer;
use midigpt_tokenize::{from_json, Tokenizer};
use serde::Deserialize;
use serde_json::json;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::jobs::{Job, Jobs, ModelInfo};
use crate::request::{bad_request, Work};
use crate::store::{colour_key, Kind, Store};
use crate::{assets, worker, JobRequest, ScoreView, StudioConfig, StudioError};

/// Everything the handlers share.
pub(crate) struct AppState {
    pub(crate) config: StudioConfig,
    pub(crate) model: ModelInfo,
    /// The model's tokenizer, to check a request's controls before it waits its turn.
    tokenizer: Arc<dyn Tokenizer>,
    pub(crate) jobs: Arc<Jobs>,
    pub(crate) store: Arc<Store>,
    renderer: Arc<Renderer>,
    /// Renderings at once: each holds a song's samples in memory.
    render_permits: tokio::sync::Semaphore,
}

impl AppState {
    /// Starts the model worker (loading the model there) and the synthesizer.
    pub(crate) fn new<B, F>(config: StudioConfig, load: F) -> Result<AppState, StudioError>
    where
        B: GptBackend,
        F: FnOnce() -> Result<ModelPackage<B>, ComposeError> + Send + 'static,
    {
        let renderer = Arc::new(Renderer::new(&config.render)?);
        let store = Arc::new(Store::new(config.max_scores, config.max_folder_bytes)?);
        let jobs = Arc::new(Jobs::new(config.max_queue));
        let (ready, loaded) = std::sync::mpsc::channel();
        let (queue, scores) = (jobs.clone(), store.clone());
        let handle = std::thread::Builder::new()
            .name("studio-model".into())
            .spawn(move || {
                let pkg = match load() {
                    Ok(pkg) => pkg,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                // A copy for the handlers: the model stays on this thread.
                let tokenizer = from_json(&pkg.tokenizer.to_json()).map(Arc::from);
                let info = tokenizer.map(|t| (worker::model_info(&pkg), t));
                let _ = ready.send(info.map_err(ComposeError::from));
                queue.work(|job| worker::run(&pkg, job, &scores));
            })
            .map_err(|e| StudioError::Internal(format!("starting the model worker: {e}")))?;
        let (model, tokenizer) = loaded.recv().map_err(|_| StudioError::Worker)??;
        jobs.set_worker(handle);
        Ok(AppState {
            config,
            model,
            tokenizer,
            jobs,
            store,
            renderer,
            render_permits: tokio::sync::Semaphore::new(2),
        })
    }
}

/// The studio's routes over `state`.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let upload = state.config.max_upload_bytes;
    Router::new()
        .route("/", get(assets::index))
        .route("/{asset}", get(assets::asset))
        .route("/api/model", get(model))
        .route(
            "/api/scores",
            post(upload_score).layer(DefaultBodyLimit::max(upload)),
        )
        .route("/api/scores/{id}", get(score))
        .route("/api/scores/{id}/{file}", get(score_file))
        .route("/api/scores/{id}/insert", post(insert))
        .route(
            "/api/jobs",
            post(submit).layer(DefaultBodyLimit::max(64 << 10)),
        )
        .route("/api/jobs/{id}", get(job_status).delete(cancel))
        .route("/api/jobs/{id}/events", get(events))
        .with_state(state)
}

async fn model(State(s): State<Arc<AppState>>) -> Json<ModelInfo> {
    Json(s.model.clone())
}

#[derive(Deserialize)]
struct UploadQuery {
    /// The file's name, shown in the page and used for downloads; never a path here.
    name: Option<String>,
}

/// A name safe in a page and in a `Content-Disposition` header: letters, digits, spaces
/// and `-_.()`, at most 80 characters.
fn clean_name(name: &str) -> String {
    let name = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let ok = |c: &char| c.is_ascii_alphanumeric() || " -_.()".contains(*c);
    let clean: String = name.chars().filter(ok).take(80).collect();
    match clean.trim() {
        "" => "upload.mid".into(),
        name => name.into(),
    }
}

async fn upload_score(
    State(s): State<Arc<AppState>>,
    Query(query): Query<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ScoreView>, StudioError> {
    let name = clean_name(query.name.as_deref().unwrap_or_default());
    let max = s.config.max_upload_bytes;
    let bytes = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => StudioError::TooLarge(format!(
            "{name}: larger than the {} KiB the studio accepts",
            max >> 10
        )),
        _ => StudioError::BadRequest(format!("{name}: {}", e.body_text())),
    })?;
    let mut score = Score::from_bytes(&bytes).map_err(|e| {
        StudioError::BadRequest(format!("{name}: not a MIDI file we can read: {e}"))
    })?;
    // Shown and kept as the model reads it: its tracks then answer to the model's programs.
    s.model.prompt_fit.apply(&mut score);
    let notes = score.note_count();
    if notes > s.config.max_notes {
        return Err(StudioError::BadRequest(format!(
            "{name}: {notes} notes, more than the {} the studio takes",
            s.config.max_notes
        )));
    }
    let seconds = score.seconds_at(score.end());
    if seconds > s.config.max_seconds {
        return Err(StudioError::BadRequest(format!(
            "{name}: {:.0} minutes long, longer than the {:.0} the studio takes",
            seconds / 60.0,
            s.config.max_seconds / 60.0
        )));
    }
    let view_of = score.clone();
    let id = s.store.insert(score, name.clone());
    Ok(Json(ScoreView::new(id, &name, &view_of)))
}

async fn score(
    State(s): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Json<ScoreView>, StudioError> {
    let entry = s.store.get(id)?;
    Ok(Json(ScoreView::new(id, &entry.name, &entry.score)))
}

async fn insert(
    State(s): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Json<ScoreView>, StudioError> {
    let entry = s.store.get(id)?;
    let Some(c) = &entry.continues else {
        return Ok(Json(ScoreView::new(id, &entry.name, &entry.score)));
    };
    let song = midigpt_compose::insert(&c.original, c.cut, &entry.score, c.bars);
    let id = s.store.insert(song.clone(), entry.name.clone());
    Ok(Json(ScoreView::new(id, &entry.name, &song)))
}

#[derive(Deserialize)]
struct FileQuery {
    /// For `roll.png`: the page's colours, `PROGRAM:RRGGBB` by instrument, comma-separated
    /// (`0:1f77b4,-1:464646`), so that the picture matches the page.
    colours: Option<String>,
}

/// `PROGRAM:RRGGBB,...` → colours by instrument; at most one per program and drums.
fn parse_colours(text: &str) -> Result<Vec<(i16, [u8; 3])>, StudioError> {
    let bad =
        |what: &str| StudioError::BadRequest(format!("colours: {what:?} is not PROGRAM:RRGGBB"));
    let mut out: Vec<(i16, [u8; 3])> = Vec::new();
    for item in text.split(',').filter(|i| !i.is_empty()).take(129) {
        let (program, hex) = item.split_once(':').ok_or_else(|| bad(item))?;
        let program: i16 = program.parse().map_err(|_| bad(item))?;
        let rgb = u32::from_str_radix(hex, 16).ok().filter(|_| hex.len() == 6);
        match (rgb, (-1..=127).contains(&program)) {
            (Some(rgb), true) => {
                let [_, r, g, b] = rgb.to_be_bytes();
                out.push((program, [r, g, b]));
            }
            _ => return Err(bad(item)),
        }
    }
    Ok(out)
}

async fn score_file(
    State(s): State<Arc<AppState>>,
    Path((id, file)): Path<(u64, String)>,
    Query(query): Query<FileQuery>,
    headers: HeaderMap,
) -> Result<Response, StudioError> {
    let entry = s.store.get(id)?;
    let stem = clean_name(entry.name.trim_end_matches(".mid"));
    let colours = match &query.colours {
        Some(text) if file == "roll.png" => parse_colours(text)?,
        _ => Vec::new(),
    };
    let (kind, ext) = match file.as_str() {
        "score.mid" => {
            let bytes = (entry.score.to_bytes())
                .map_err(|e| StudioError::Internal(format!("{}: {e}", entry.name)))?;
            let headers = [
                (header::CONTENT_TYPE, "audio/midi".to_owned()),
                (header::CONTENT_DISPOSITION, disposition(&stem, "mid")),
            ];
            return Ok((headers, bytes).into_response());
        }
        "audio.wav" => (Kind::Wav, "wav"),
        "roll.png" => (Kind::Png(colour_key(&colours)), "png"),
        other => {
            return Err(StudioError::NotFound(format!(
                "no file {other:?}: a score has score.mid, audio.wav and roll.png"
            )))
        }
    };
    let path = {
        let _permit =
            (s.render_permits.acquire().await).map_err(|e| StudioError::Internal(e.to_string()))?;
        let state = s.clone();
        tokio::task::spawn_blocking(move || state.store.file(id, kind, &state.renderer, &colours))
            .await
            .map_err(|e| StudioError::Internal(e.to_string()))??
    };
    // Streamed from disk, with the ranges a player asks for to seek.
    let mut request = axum::http::Request::new(Body::empty());
    for name in [header::RANGE, header::IF_RANGE] {
        if let Some(value) = headers.get(&name) {
            request.headers_mut().insert(name, value.clone());
        }
    }
    let served = ServeFile::new(&path)
        .oneshot(request)
        .await
        .map_err(|e| StudioError::Internal(format!("{}: {e}", entry.name)))?;
    let mut response = served.map(Body::new);
    if let Ok(value) = HeaderValue::from_str(&disposition(&stem, ext)) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Shown in the browser, saved under the score's name.
fn disposition(stem: &str, ext: &str) -> String {
    format!("inline; filename=\"{stem}.{ext}\"")
}

async fn submit(
    State(s): State<Arc<AppState>>,
    body: Result<Json<JobRequest>, JsonRejection>,
) -> Result<Response, StudioError> {
    let Json(request) = body.map_err(|e| StudioError::BadRequest(e.body_text()))?;
    let original = match request.score {
        Some(id) => Some(s.store.get(id)?),
        None => None,
    };
    if let (true, Some(why)) = (request.fills(), &s.model.cannot_fill) {
        return Err(StudioError::BadRequest(format!(
            "this model cannot fill bars: {why}"
        )));
    }
    let work = request.work(original.as_ref().map(|e| &*e.score), &s.config)?;
    let controls = match &work {
        Work::Continue(request) => &request.controls,
        Work::Infill(request) => &request.controls,
    };
    controls.check(s.tokenizer.as_ref()).map_err(bad_request)?;
    let original = original.map(|e| (e.score, e.name));
    let id = s.jobs.next_id();
    let job = Job::new(id, work, request.candidates, request.cut_bar(), original);
    let ahead = s.jobs.submit(Arc::new(job))?;
    let body = json!({ "id": id, "ahead": ahead });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

async fn job_status(
    State(s): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Json<serde_json::Value>, StudioError> {
    let job = s.jobs.get(id)?;
    let log = job.log();
    Ok(Json(json!({
        "id": id,
        "status": log.status,
        "ahead": s.jobs.ahead(&job),
        "events": log.events,
        "preview": log.preview,
    })))
}

async fn cancel(
    State(s): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Json<serde_json::Value>, StudioError> {
    let job = s.jobs.get(id)?;
    s.jobs.cancel(&job);
    Ok(Json(json!({ "id": id, "cancelled": true })))
}

async fn events(
    State(s): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, StudioError> {
    let job = s.jobs.get(id)?;
    let watch = job.watch();
    let stream = futures_util::stream::unfold(
        (job, watch, 0usize, 0u64),
        |(job, mut watch, seen, preview)| async move {
            loop {
                // Marked seen before reading, so a change after the read wakes us.
                watch.mark_unchanged();
                match job.next(seen, preview) {
                    (Some((value, seen, preview)), _) => {
                        let kind = value["type"].as_str().unwrap_or("message").to_owned();
                        let event = Event::default().event(kind).data(value.to_string());
                        return Some((Ok(event), (job, watch, seen, preview)));
                    }
                    (None, true) => return None,
                    (None, false) => {
                        if watch.changed().await.is_err() {
                            return None;
                        }
                    }
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
