//! A studio with a tiny untrained model, and requests to it in process.
#![allow(dead_code)] // each test binary uses a different subset

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use midigpt_compose::ModelPackage;
use midigpt_midi::{Note, Score, Track};
use midigpt_model::{Cpu, GptConfig};
use midigpt_render::{RenderOptions, Synth};
use midigpt_studio::{Studio, StudioConfig};
use midigpt_tokenize::{builtin, with_infill_tokens, Tokenizer};
use serde_json::Value;
use tower::ServiceExt;

/// A POP909 song (see data/README.md).
pub const SONG: &[u8] = include_bytes!("../data/POP909_008.mid");
pub const SONG_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/POP909_008.mid");

/// The test song with its lowest notes moved to a bass track: two instruments to choose from.
pub fn two_tracks() -> Score {
    let mut score = Score::from_bytes(SONG).unwrap();
    let (low, high): (Vec<Note>, Vec<Note>) =
        score.tracks[0].notes.iter().partition(|n| n.pitch < 55);
    score.tracks[0].notes = high;
    score.tracks.truncate(1);
    score.tracks.push(Track {
        name: "bass".into(),
        program: 33,
        is_drum: false,
        notes: low,
    });
    score
}

/// A one-layer REMI+ model of width 16, untrained: it writes noise, fast.
pub fn tiny_model() -> ModelPackage<Cpu> {
    tiny_model_over(builtin("remi-plus").unwrap())
}

/// [`tiny_model`] with the infill tokens in its vocabulary: it can fill bars.
pub fn tiny_infill_model() -> ModelPackage<Cpu> {
    tiny_model_over(with_infill_tokens(builtin("remi-plus").unwrap().as_ref()).unwrap())
}

fn tiny_model_over(tokenizer: Box<dyn Tokenizer>) -> ModelPackage<Cpu> {
    let config = GptConfig {
        block_size: 256,
        n_layer: 1,
        n_head: 2,
        n_kv_head: 2,
        n_embd: 16,
        ..GptConfig::small(tokenizer.vocab_size())
    };
    ModelPackage::new(config.init::<Cpu>(&Default::default()).unwrap(), tokenizer)
}

/// Settings for tests: any free port, short candidates, the built-in synthesizer at a low
/// rate (quick to render, the same whether a SoundFont is installed or not).
pub fn config() -> StudioConfig {
    StudioConfig {
        port: 0,
        max_tokens: 40,
        render: RenderOptions {
            sample_rate: 16_000,
            synth: Synth::Builtin,
            ..RenderOptions::default()
        },
        ..StudioConfig::default()
    }
}

/// A studio serving [`tiny_model`].
pub fn studio(config: StudioConfig) -> Studio {
    Studio::start(config, || Ok(tiny_model())).unwrap()
}

/// A studio serving [`tiny_infill_model`].
pub fn infill_studio(config: StudioConfig) -> Studio {
    Studio::start(config, || Ok(tiny_infill_model())).unwrap()
}

/// Sends a request to `router` in process; returns the status, content type and body.
pub async fn call(
    router: &axum::Router,
    method: Method,
    uri: &str,
    body: Vec<u8>,
) -> (StatusCode, String, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let mime = (response.headers().get("content-type"))
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, mime, bytes.to_vec())
}

/// [`call`] with a JSON answer.
pub async fn json(
    router: &axum::Router,
    method: Method,
    uri: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let (status, _, bytes) = call(router, method, uri, body).await;
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: {e}: {}", String::from_utf8_lossy(&bytes)));
    (status, value)
}

/// Uploads [`SONG`]; returns its view.
pub async fn upload_song(router: &axum::Router) -> Value {
    let (status, view) = json(
        router,
        Method::POST,
        "/api/scores?name=song.mid",
        SONG.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    view
}

/// A job request continuing `score` after `after_bar`, with `candidates`.
pub fn continue_request(score: Option<u64>, after_bar: usize, candidates: usize) -> Value {
    serde_json::json!({
        "score": score,
        "task": {"mode": "continue", "after_bar": after_bar},
        "settings": {"bars": 2},
        "sampling": {"temperature": 1.0, "top_p": 0.95, "seed": 3},
        "candidates": candidates,
    })
}

/// Waits for job `id` to end (polling); returns its final status JSON.
pub async fn wait(router: &axum::Router, id: u64) -> Value {
    for _ in 0..1200 {
        let (status, job) = json(router, Method::GET, &format!("/api/jobs/{id}"), vec![]).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        if !["queued", "running"].contains(&job["status"].as_str().unwrap()) {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("job {id} did not end in 120 s");
}
