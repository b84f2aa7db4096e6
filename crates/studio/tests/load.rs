//! Twenty generate requests at once against one server over TCP: each is answered (its job
//! runs to the end) or refused with "queue full"; none is lost, and memory stays bounded.

mod common;

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use midigpt_studio::StudioConfig;
use serde_json::Value;

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn send(
    client: &HttpClient,
    method: Method,
    url: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// Resident and peak resident memory of this process, in MiB (Linux; zero elsewhere).
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        (status.lines().find(|l| l.starts_with(name)))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_requests_at_once_are_each_answered_or_refused() {
    const REQUESTS: usize = 20;
    let studio = common::studio(StudioConfig {
        max_queue: 4,
        max_tokens: 200,
        ..common::config()
    });
    let listener = studio.bind().await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = studio.router();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap()
    });
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let upload = Request::post(format!("{base}/api/scores?name=song.mid"))
        .body(Full::new(Bytes::from_static(common::SONG)))
        .unwrap();
    let view = client
        .request(upload)
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap();
    let view: Value = serde_json::from_slice(&view.to_bytes()).unwrap();
    let score = view["id"].as_u64().unwrap();
    let (rss_before, _) = memory();

    let start = Instant::now();
    let tasks: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let (client, base) = (client.clone(), base.clone());
            tokio::spawn(async move {
                let mut request = common::continue_request(Some(score), 4, 1);
                request["sampling"]["seed"] = i.into();
                let body = serde_json::to_vec(&request).unwrap();
                let (status, answer) =
                    send(&client, Method::POST, &format!("{base}/api/jobs"), body).await;
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    let text = answer["error"].as_str().unwrap().to_owned();
                    assert!(text.starts_with("queue full"), "{text}");
                    return (false, start.elapsed());
                }
                assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
                let id = answer["id"].as_u64().unwrap();
                loop {
                    let url = format!("{base}/api/jobs/{id}");
                    let (status, job) = send(&client, Method::GET, &url, vec![]).await;
                    assert_eq!(status, StatusCode::OK, "{job}");
                    if job["status"] == "done" || job["status"] == "warned" {
                        let events = job["events"].as_array().unwrap();
                        assert_eq!(
                            events.iter().filter(|e| e["type"] == "candidate").count(),
                            1
                        );
                        return (true, start.elapsed());
                    }
                    assert!(
                        ["queued", "running"].contains(&job["status"].as_str().unwrap()),
                        "{job}"
                    );
                    assert!(
                        start.elapsed() < Duration::from_secs(300),
                        "job {id} never ended"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        })
        .collect();
    let mut answered = 0;
    let mut refused = 0;
    let mut slowest = Duration::ZERO;
    for task in tasks {
        let (done, took) = task.await.expect("no request is lost or panics");
        if done {
            answered += 1;
            slowest = slowest.max(took);
        } else {
            refused += 1;
        }
    }
    let (rss_after, peak) = memory();
    println!(
        "load: {REQUESTS} requests at once: {answered} answered (the last after {:.2} s), \
         {refused} refused with \"queue full\", in {:.2} s; resident memory {rss_before:.0} MiB \
         before, {rss_after:.0} MiB after, peak {peak:.0} MiB",
        slowest.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    assert_eq!(
        answered + refused,
        REQUESTS,
        "every request answered or refused"
    );
    assert!(answered >= 4, "a full queue at least");
    assert!(refused >= 1, "more requests than places: some are refused");
    // Each job keeps its few events and one candidate: nothing grows with the load.
    assert!(
        rss_after - rss_before < 200.0,
        "{rss_before} → {rss_after} MiB"
    );
    stop.send(()).unwrap();
    server.await.unwrap();
}
