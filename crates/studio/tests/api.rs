//! Every endpoint of the studio in process, and the errors a page can meet.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{call, config, continue_request, json, studio, upload_song, wait, SONG};
use http_body_util::BodyExt;
use midigpt_midi::Score;
use midigpt_studio::StudioConfig;
use tower::ServiceExt;

#[tokio::test]
async fn the_page_and_its_files_are_served() {
    let studio = studio(config());
    let router = studio.router();
    let (status, mime, body) = call(&router, Method::GET, "/", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(mime.starts_with("text/html"), "{mime}");
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains("<canvas id=\"roll\""),
        "the page draws a piano roll"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from the network"
    );
    for asset in ["app.js", "roll.js", "studio.css"] {
        let (status, _, body) = call(&router, Method::GET, &format!("/{asset}"), vec![]).await;
        assert_eq!(status, StatusCode::OK, "{asset}");
        assert!(body.len() > 1000, "{asset}");
    }
    let (status, _, _) = call(&router, Method::GET, "/secret.js", vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_model_says_what_it_can_do() {
    let studio = studio(config());
    let (status, model) = json(&studio.router(), Method::GET, "/api/model", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(model["tokenizer"], "REMI+");
    assert_eq!(model["layers"], 1);
    let controls: Vec<&str> = (model["controls"].as_array().unwrap().iter())
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        controls,
        [
            "instruments",
            "tempo",
            "time_signature",
            "bars",
            "seconds",
            "max_notes_per_bar",
            "max_polyphony",
            "pitch_range",
            "form",
            "key"
        ]
    );
    assert!(model["metres"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "3/4"));
}

#[tokio::test]
async fn an_upload_becomes_a_score_with_its_files() {
    let studio = studio(config());
    let router = studio.router();
    let view = upload_song(&router).await;
    let song = Score::from_bytes(SONG).unwrap();
    assert_eq!(view["notes"], song.note_count());
    assert_eq!(view["name"], "song.mid");
    assert!(view["bars"].as_array().unwrap().len() > 8);
    let id = view["id"].as_u64().unwrap();
    let (status, again) = json(&router, Method::GET, &format!("/api/scores/{id}"), vec![]).await;
    assert_eq!((status, &again), (StatusCode::OK, &view));

    let file = |name: &str| format!("/api/scores/{id}/{name}");
    let (status, mime, mid) = call(&router, Method::GET, &file("score.mid"), vec![]).await;
    assert_eq!((status, mime.as_str()), (StatusCode::OK, "audio/midi"));
    assert_eq!(
        Score::from_bytes(&mid).unwrap().note_count(),
        song.note_count()
    );
    let (status, mime, wav) = call(&router, Method::GET, &file("audio.wav"), vec![]).await;
    assert_eq!((status, mime.as_str()), (StatusCode::OK, "audio/wav"));
    let reader = hound_header(&wav);
    assert_eq!(reader, (2, 16_000), "stereo at the configured rate");
    let (status, mime, png) = call(&router, Method::GET, &file("roll.png"), vec![]).await;
    assert_eq!((status, mime.as_str()), (StatusCode::OK, "image/png"));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // Only the server's own file names exist: a path in a request is just an unknown name.
    for bad in ["..%2F..%2Fetc%2Fpasswd", "score.wav", "%2Fetc%2Fpasswd"] {
        let (status, err) = json(&router, Method::GET, &file(bad), vec![]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}: {err}");
    }
    let (status, err) = json(&router, Method::GET, "/api/scores/999/score.mid", vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        err["error"].as_str().unwrap().contains("no score 999"),
        "{err}"
    );
    // The files are in the studio's own folder, which goes with the studio.
    let folder = studio.folder().to_owned();
    assert_eq!(
        std::fs::read_dir(&folder).unwrap().count(),
        2,
        "the WAV and the PNG"
    );
    // The picture in the page's colours (the song's one track red): another picture.
    let red = format!("{}?colours=0:ff0000,-1:00ff00", file("roll.png"));
    let (status, mime, red) = call(&router, Method::GET, &red, vec![]).await;
    assert_eq!((status, mime.as_str()), (StatusCode::OK, "image/png"));
    assert_ne!(red, png);
    let bad = format!("{}?colours=0:red", file("roll.png"));
    let (status, err) = json(&router, Method::GET, &bad, vec![]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains("\"0:red\" is not PROGRAM:RRGGBB"),
        "{err}"
    );
    drop(router);
    drop(studio);
    assert!(
        !folder.exists(),
        "{} is removed at shutdown",
        folder.display()
    );
}

#[tokio::test]
async fn audio_seeks_with_range_requests_and_concurrent_requests_share_one_file() {
    let studio = studio(config());
    let router = studio.router();
    let id = upload_song(&router).await["id"].as_u64().unwrap();
    let uri = format!("/api/scores/{id}/audio.wav");
    // Two players asking at once for a file not made yet: both get all of it.
    let (a, b) = tokio::join!(
        call(&router, Method::GET, &uri, vec![]),
        call(&router, Method::GET, &uri, vec![])
    );
    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK));
    assert!(a.2.len() > 10_000);
    assert_eq!(a.2, b.2, "the same bytes");
    let whole = a.2;
    let get = |range: &'static str| {
        let request = Request::builder()
            .uri(&uri)
            .header(header::RANGE, range)
            .body(Body::empty())
            .unwrap();
        router.clone().oneshot(request)
    };
    let response = get("bytes=1000-1999").await.unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    let headers = response.headers().clone();
    assert_eq!(headers[header::ACCEPT_RANGES], "bytes");
    let total = whole.len();
    assert_eq!(
        headers[header::CONTENT_RANGE],
        format!("bytes 1000-1999/{total}").as_str()
    );
    let part = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&part[..], &whole[1000..2000]);
    // The end of the file, as a player seeking near the end asks.
    let response = get("bytes=-100").await.unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    let tail = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&tail[..], &whole[total - 100..]);
    // Past the end: 416, not a 200 that a player would take for the whole file.
    let response = get("bytes=999999999-").await.unwrap();
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
}

/// Channels and sample rate of a WAV file's header.
fn hound_header(wav: &[u8]) -> (u16, u32) {
    assert_eq!((&wav[..4], &wav[8..12]), (&b"RIFF"[..], &b"WAVE"[..]));
    let channels = u16::from_le_bytes([wav[22], wav[23]]);
    let rate = u32::from_le_bytes([wav[24], wav[25], wav[26], wav[27]]);
    (channels, rate)
}

#[tokio::test]
async fn uploads_that_are_not_midi_or_too_large_are_refused_clearly() {
    let studio = studio(StudioConfig {
        max_upload_bytes: 8 << 10,
        ..config()
    });
    let router = studio.router();
    let (status, err) = json(
        &router,
        Method::POST,
        "/api/scores?name=notes.txt",
        b"hello".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = err["error"].as_str().unwrap();
    assert!(text.starts_with("notes.txt: not a MIDI file"), "{text}");
    let (status, err) = json(
        &router,
        Method::POST,
        "/api/scores?name=song.mid",
        SONG.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains("larger than the 8 KiB"),
        "{err}"
    );
    // A name is only a name: no folders, nothing but plain characters.
    let few = StudioConfig {
        max_notes: 10,
        ..config()
    };
    let studio = common::studio(few);
    let path = "/api/scores?name=..%2F..%2Fhome%2Fme%2Fsong%3Cb%3E.mid";
    let (status, err) = json(&studio.router(), Method::POST, path, SONG.to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = err["error"].as_str().unwrap();
    assert!(text.starts_with("songb.mid: "), "{text}");
    assert!(text.contains("more than the 10"), "{text}");
}

#[tokio::test]
async fn a_continuation_streams_and_keeps_the_bars_before_it() {
    let studio = studio(config());
    let router = studio.router();
    let id = upload_song(&router).await["id"].as_u64().unwrap();
    let mut request = continue_request(Some(id), 4, 2);
    request["settings"]["instruments"] = serde_json::json!(["piano", "Electric Bass (finger)"]);
    let body = serde_json::to_vec(&request).unwrap();
    let (status, job) = json(&router, Method::POST, "/api/jobs", body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job_id = job["id"].as_u64().unwrap();
    // The event stream runs until the job ends.
    let (status, mime, events) = call(
        &router,
        Method::GET,
        &format!("/api/jobs/{job_id}/events"),
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mime, "text/event-stream");
    let events = String::from_utf8(events).unwrap();
    assert_eq!(events.matches("event: candidate").count(), 2, "{events}");
    assert!(events.contains("event: start") && events.contains("event: place"));

    let job = wait(&router, job_id).await;
    let candidates: Vec<_> = (job["events"].as_array().unwrap().iter())
        .filter(|e| e["type"] == "candidate")
        .collect();
    assert_eq!(candidates.len(), 2);
    // 40 tokens rarely make 2 bars of an untrained model's notes: a candidate cut short by
    // the budget says so, and the job is not "done" while one does.
    for c in &candidates {
        if c["ended"] == false {
            let warning = c["warning"].as_str().unwrap_or_default();
            assert!(warning.contains("token budget ran out"), "{c}");
        }
    }
    let warned = candidates.iter().any(|c| c["warning"].is_string());
    let status = if warned { "warned" } else { "done" };
    assert_eq!(job["status"], status, "{job}");
    assert!(
        events.contains(&format!(r#""status":"{status}""#)),
        "{events}"
    );
    assert_ne!(candidates[0]["seed"], candidates[1]["seed"]);
    let original = Score::from_bytes(SONG).unwrap();
    let head = original.slice_bars(0..4);
    for c in candidates {
        let id = c["score"]["id"].as_u64().unwrap();
        let (_, _, mid) = call(
            &router,
            Method::GET,
            &format!("/api/scores/{id}/score.mid"),
            vec![],
        )
        .await;
        let piece = Score::from_bytes(&mid).unwrap();
        assert_eq!(piece.ticks_per_quarter, original.ticks_per_quarter);
        assert_eq!(
            piece.slice_bars(0..4).note_count(),
            head.note_count(),
            "bars 1-4 are the original's"
        );
        assert!(c["tokens_per_second"].as_f64().unwrap() > 0.0);
    }
}

#[tokio::test]
async fn a_new_piece_needs_no_score() {
    let studio = studio(config());
    let router = studio.router();
    let body = serde_json::to_vec(&continue_request(None, 0, 1)).unwrap();
    let (status, job) = json(&router, Method::POST, "/api/jobs", body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = wait(&router, job["id"].as_u64().unwrap()).await;
    assert!(
        ["done", "warned"].contains(&job["status"].as_str().unwrap()),
        "{job}"
    );
    let last = job["events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .nth(1)
        .unwrap();
    assert_eq!(last["type"], "candidate", "{job}");
}

#[tokio::test]
async fn requests_that_cannot_be_are_refused_before_they_queue() {
    let studio = studio(config());
    let router = studio.router();
    let id = upload_song(&router).await["id"].as_u64().unwrap();
    let bars = Score::from_bytes(SONG).unwrap().bar_count();
    let cases = [
        (
            continue_request(Some(id), 999, 1),
            format!("after bar 999: the score has {bars} bars"),
        ),
        (continue_request(None, 3, 1), "there is no score yet".into()),
        (
            continue_request(Some(id), 4, 0),
            "candidates: 0 is outside 1 to 8".into(),
        ),
        (
            continue_request(Some(id), 4, 9),
            "candidates: 9 is outside 1 to 8".into(),
        ),
        (
            serde_json::json!({"task": {"mode": "continue", "after_bar": 0}, "settings": {"instruments": ["kazoo"]}}),
            "instruments: \"kazoo\" is no instrument".into(),
        ),
        (
            serde_json::json!({"task": {"mode": "continue", "after_bar": 0}, "settings": {"time_signature": "5/3"}}),
            "\"5/3\" is no time signature".into(),
        ),
        (
            // Checked by the compose layer against the model, before the job waits its turn.
            serde_json::json!({"task": {"mode": "continue", "after_bar": 0}, "settings": {"time_signature": "7/4"}}),
            "time_signature: 7/4 is not among this tokenizer's metres".into(),
        ),
        (
            // Said, not quietly written at the nearest tempo the model has (250).
            serde_json::json!({"task": {"mode": "continue", "after_bar": 0}, "settings": {"tempo": 1000}}),
            "tempo: 1000 is outside the tempos this model writes (40 to 250 BPM)".into(),
        ),
        (
            serde_json::json!({"task": {"mode": "continue", "after_bar": 0}, "settings": {"bars": 65}}),
            "bars: 65 is outside 1 to 64".into(),
        ),
        (
            serde_json::json!({"task": {"mode": "continue", "after_bar": 0}, "sampling": {"temperature": -1}}),
            "temperature".into(),
        ),
        (
            serde_json::json!({"task": {"mode": "remix"}}),
            "unknown variant `remix`".into(),
        ),
        (
            serde_json::json!({"task": {"mode": "continue", "after_bar": 0}, "colour": 1}),
            "unknown field `colour`".into(),
        ),
    ];
    for (request, expected) in cases {
        let body = serde_json::to_vec(&request).unwrap();
        let (status, err) = json(&router, Method::POST, "/api/jobs", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{request}: {err}");
        let text = err["error"].as_str().unwrap();
        assert!(
            text.contains(&expected),
            "{request}: {text:?} lacks {expected:?}"
        );
    }
    let body = serde_json::to_vec(&continue_request(Some(777), 1, 1)).unwrap();
    let (status, _) = json(&router, Method::POST, "/api/jobs", body).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = json(&router, Method::GET, "/api/jobs/12345", vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_full_queue_says_so_and_jobs_can_be_cancelled() {
    // Long candidates, one place in the queue.
    let studio = studio(StudioConfig {
        max_queue: 1,
        max_tokens: 100_000,
        ..config()
    });
    let router = studio.router();
    // 64 bars from an untrained model: far longer than the test takes to cancel it.
    let mut request = continue_request(None, 0, 1);
    request["settings"] = serde_json::json!({"bars": 64});
    let body = serde_json::to_vec(&request).unwrap();
    let mut accepted = Vec::new();
    let mut refused = 0;
    for _ in 0..3 {
        let (status, answer) = json(&router, Method::POST, "/api/jobs", body.clone()).await;
        match status {
            StatusCode::ACCEPTED => accepted.push(answer["id"].as_u64().unwrap()),
            StatusCode::SERVICE_UNAVAILABLE => {
                refused += 1;
                let text = answer["error"].as_str().unwrap();
                assert!(
                    text.starts_with("queue full: 1 requests are waiting"),
                    "{text}"
                );
            }
            other => panic!("{other}: {answer}"),
        }
    }
    assert!(
        refused >= 1 && !accepted.is_empty(),
        "{accepted:?}, {refused} refused"
    );
    // The waiting one leaves the queue at once; the running one stops at its next token.
    for &id in accepted.iter().rev() {
        let (status, _) = json(&router, Method::DELETE, &format!("/api/jobs/{id}"), vec![]).await;
        assert_eq!(status, StatusCode::OK);
    }
    for &id in &accepted {
        let job = wait(&router, id).await;
        assert_eq!(job["status"], "cancelled", "{job}");
    }
    // With the queue empty again, a new job is taken.
    let (status, _) = json(&router, Method::POST, "/api/jobs", body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
}
