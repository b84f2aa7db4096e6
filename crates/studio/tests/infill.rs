//! Regenerating bars × tracks and adding a track, over the API: every note outside the
//! filled rectangle stays as it was, the filled bars hold only the asked tracks, and what
//! cannot be is refused with words a musician can act on.

mod common;

use std::ops::Range;

use axum::http::{Method, StatusCode};
use axum::Router;
use common::{call, config, infill_studio, json, two_tracks, wait};
use midigpt_midi::{Note, Score, Track};
use serde_json::{json, Value};

/// Uploads `score`; returns its id.
async fn upload(router: &Router, score: &Score) -> u64 {
    let bytes = score.to_bytes().unwrap();
    let (status, view) = json(router, Method::POST, "/api/scores?name=two.mid", bytes).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    view["id"].as_u64().unwrap()
}

/// The score `id` as the server writes it.
async fn fetch(router: &Router, id: u64) -> Score {
    let (status, _, mid) = call(
        router,
        Method::GET,
        &format!("/api/scores/{id}/score.mid"),
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    Score::from_bytes(&mid).unwrap()
}

/// Notes as (program, time, pitch, duration, velocity), sorted, of those `keep` takes.
fn notes(score: &Score, keep: impl Fn(i16, &Note) -> bool) -> Vec<(i16, u32, u8, u32, u8)> {
    let mut out: Vec<_> = (score.tracks.iter())
        .flat_map(|t| t.notes.iter().map(move |n| (t.program_or_drums(), n)))
        .filter(|(p, n)| keep(*p, n))
        .map(|(p, n)| (p, n.time, n.pitch, n.duration, n.velocity))
        .collect();
    out.sort_unstable();
    out
}

/// Runs a fill job on `score`, reading its event stream, and returns each candidate as the
/// server wrote it.
async fn fill(router: &Router, score: u64, task: Value, candidates: usize) -> Vec<Score> {
    let body = json!({
        "score": score,
        "task": task,
        "sampling": {"temperature": 1.0, "top_p": 0.95, "seed": 5},
        "candidates": candidates,
    });
    let (status, job) = json(
        router,
        Method::POST,
        "/api/jobs",
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_u64().unwrap();
    // Streamed as a continuation is: an event a candidate, then the end.
    let (_, _, events) = call(
        router,
        Method::GET,
        &format!("/api/jobs/{id}/events"),
        vec![],
    )
    .await;
    let events = String::from_utf8(events).unwrap();
    assert_eq!(
        events.matches("event: candidate").count(),
        candidates,
        "{events}"
    );
    assert!(events.contains(r#""status":"done""#), "{events}");
    let job = wait(router, id).await;
    assert_eq!(job["status"], "done", "{job}");
    let ids: Vec<u64> = (job["events"].as_array().unwrap().iter())
        .filter(|e| e["type"] == "candidate")
        .map(|e| e["score"]["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), candidates, "{job}");
    let mut out = Vec::new();
    for id in ids {
        out.push(fetch(router, id).await);
    }
    out
}

/// Ticks of bars `bars` of `score`.
fn ticks(score: &Score, bars: Range<usize>) -> Range<u32> {
    let starts: Vec<u32> = score.bars().take(bars.end + 1).collect();
    starts[bars.start]..starts[bars.end]
}

#[tokio::test]
async fn regenerating_bars_of_a_track_keeps_every_other_note() {
    let studio = infill_studio(config());
    let router = studio.router();
    let (_, model) = json(&router, Method::GET, "/api/model", vec![]).await;
    assert!(model["cannot_fill"].is_null(), "{model}");
    let id = upload(&router, &two_tracks()).await;
    let original = fetch(&router, id).await;
    let hole = ticks(&original, 2..5);
    let task = json!({"mode": "infill", "bars": [2, 5], "tracks": [33]});
    let candidates = fill(&router, id, task, 2).await;
    let kept = |p: i16, n: &Note| p != 33 || !hole.contains(&n.time);
    let new = |p: i16, n: &Note| !kept(p, n);
    for piece in &candidates {
        assert_eq!(piece.ticks_per_quarter, original.ticks_per_quarter);
        assert_eq!(
            notes(piece, kept),
            notes(&original, kept),
            "outside bars 3-5 of the bass, every note is the original's"
        );
        let programs: Vec<i16> = piece.tracks.iter().map(Track::program_or_drums).collect();
        assert_eq!(programs, [0, 33], "no track comes or goes");
        // The filled notes start inside the hole (and are the bass's, by `new`).
        assert!(notes(piece, new).iter().all(|n| hole.contains(&n.1)));
    }
    assert_ne!(
        notes(&candidates[0], new),
        notes(&original, new),
        "the bars were written again"
    );
}

#[tokio::test]
async fn a_new_track_comes_over_every_bar_and_the_rest_stays() {
    let studio = infill_studio(midigpt_studio::StudioConfig {
        max_tokens: 600,
        ..config()
    });
    let router = studio.router();
    let mut score = two_tracks();
    score.tracks.truncate(1);
    score = score.slice_bars(0..6);
    let id = upload(&router, &score).await;
    let original = fetch(&router, id).await;
    let task = json!({"mode": "add_track", "instrument": "Electric Bass (finger)"});
    for piece in fill(&router, id, task, 1).await {
        let piano = |p: i16, _: &Note| p == 0;
        assert_eq!(notes(&piece, piano), notes(&original, piano));
        let others: Vec<i16> = (piece.tracks.iter())
            .map(Track::program_or_drums)
            .filter(|&p| p != 0)
            .collect();
        assert_eq!(others, [33], "a new bass track, and nothing else new");
        let bass = piece.tracks.iter().find(|t| t.program == 33).unwrap();
        let bars = ticks(&original, 0..original.bar_count());
        assert!(bass.notes.iter().all(|n| bars.contains(&n.time)));
    }
}

#[tokio::test]
async fn fills_that_cannot_be_are_refused_with_clear_words() {
    let studio = infill_studio(config());
    let router = studio.router();
    let id = upload(&router, &two_tracks()).await;
    let bars = two_tracks().bar_count();
    let cases = [
        (
            json!({"mode": "infill", "bars": [bars - 1, bars + 2], "tracks": [33]}),
            format!("bars {bars} to {}: the score has {bars} bars", bars + 2),
        ),
        (
            json!({"mode": "infill", "bars": [0, 2], "tracks": [40]}),
            "tracks: the score has no track of Violin".into(),
        ),
        (
            json!({"mode": "infill", "bars": [0, 2], "tracks": [200]}),
            "200 is no GM program".into(),
        ),
        (
            json!({"mode": "add_track", "instrument": "kazoo"}),
            "instruments: \"kazoo\" is no instrument".into(),
        ),
        (
            json!({"mode": "add_track", "instrument": "piano"}),
            "already has a track of Acoustic Grand Piano".into(),
        ),
        (
            json!({"mode": "infill", "bars": [0, 2], "tracks": "all"}),
            "invalid type: string \"all\", expected a sequence".into(),
        ),
    ];
    for (task, expected) in cases {
        let text = refused(&router, json!({"score": id, "task": task})).await;
        assert!(
            text.contains(&expected),
            "{task}: {text:?} lacks {expected:?}"
        );
    }
    let text = refused(&router, json!({"task": {"mode": "infill", "bars": [0, 1]}})).await;
    assert!(text.contains("no score to fill"), "{text}");

    // A model trained without the infill tokens says so, and why, before anything queues.
    let plain = common::studio(config());
    let router = plain.router();
    let (_, model) = json(&router, Method::GET, "/api/model", vec![]).await;
    let why = model["cannot_fill"].as_str().unwrap();
    assert!(why.contains("not trained with infilling"), "{why}");
    let id = upload(&router, &two_tracks()).await;
    let body = json!({"score": id, "task": {"mode": "infill", "bars": [0, 2], "tracks": [33]}});
    let text = refused(&router, body).await;
    assert!(
        text.starts_with("this model cannot fill bars: ") && text.contains("--infill-tokens"),
        "{text}"
    );
}

/// Posts a job that must be refused (422); returns the refusal's words.
async fn refused(router: &Router, body: Value) -> String {
    let bytes = serde_json::to_vec(&body).unwrap();
    let (status, err) = json(router, Method::POST, "/api/jobs", bytes).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
    err["error"].as_str().unwrap().to_owned()
}
