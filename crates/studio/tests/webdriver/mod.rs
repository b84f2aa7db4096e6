//! Just enough of the W3C WebDriver protocol to drive chromedriver from a test: a session,
//! pages, elements, scripts, mouse drags and screenshots, over plain HTTP to localhost.
#![allow(dead_code)] // each test binary uses a different subset

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

pub mod session;

/// The key W3C WebDriver gives element references under.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser session.
pub struct WebDriver {
    http: Client<HttpConnector, Full<Bytes>>,
    /// `http://driver/session/{id}`
    session: String,
}

impl WebDriver {
    /// Opens a session on the driver at `driver` with these browser capabilities.
    pub async fn start(driver: &str, capabilities: Value) -> WebDriver {
        let http = Client::builder(TokioExecutor::new()).build_http();
        let body = json!({ "capabilities": { "alwaysMatch": capabilities } });
        let value = send(
            &http,
            Method::POST,
            &format!("{driver}/session"),
            Some(body),
        )
        .await;
        let id = value["sessionId"].as_str().expect("a session id");
        WebDriver {
            http,
            session: format!("{driver}/session/{id}"),
        }
    }

    async fn command(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        send(&self.http, method, &format!("{}{path}", self.session), body).await
    }

    /// Loads `url`.
    pub async fn goto(&self, url: &str) {
        self.command(Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The first element matching a CSS selector.
    pub async fn find(&self, css: &str) -> String {
        let body = json!({ "using": "css selector", "value": css });
        let value = self.command(Method::POST, "/element", Some(body)).await;
        value[ELEMENT].as_str().expect("an element").to_owned()
    }

    /// Types `text` into an element (a path, for a file input).
    pub async fn send_keys(&self, element: &str, text: &str) {
        let path = format!("/element/{element}/value");
        self.command(Method::POST, &path, Some(json!({ "text": text })))
            .await;
    }

    /// Clicks an element.
    pub async fn click(&self, element: &str) {
        let path = format!("/element/{element}/click");
        self.command(Method::POST, &path, Some(json!({}))).await;
    }

    /// Drags the mouse across an element: presses at `from` and lets go at `to`, both in
    /// CSS pixels from the element's centre, moving through the way in a few steps.
    pub async fn drag(&self, element: &str, from: (i64, i64), to: (i64, i64)) {
        let at = |(x, y): (i64, i64), duration: u64| {
            json!({"type": "pointerMove", "duration": duration, "origin": { ELEMENT: element },
                   "x": x, "y": y})
        };
        let half = ((from.0 + to.0) / 2, (from.1 + to.1) / 2);
        let steps = vec![
            at(from, 0),
            json!({"type": "pointerDown", "button": 0}),
            at(half, 50),
            at(to, 50),
            json!({"type": "pointerUp", "button": 0}),
        ];
        let body = json!({"actions": [{"type": "pointer", "id": "mouse",
            "parameters": {"pointerType": "mouse"}, "actions": steps}]});
        self.command(Method::POST, "/actions", Some(body)).await;
    }

    /// An attribute of an element.
    pub async fn attr(&self, element: &str, name: &str) -> Value {
        let path = format!("/element/{element}/attribute/{name}");
        self.command(Method::GET, &path, None).await
    }

    /// Runs `script` (a function body) in the page; returns what it returns.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        let body = json!({ "script": script, "args": args });
        self.command(Method::POST, "/execute/sync", Some(body))
            .await
    }

    /// Runs `script`, which calls its last argument with the result.
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> Value {
        let body = json!({ "script": script, "args": args });
        self.command(Method::POST, "/execute/async", Some(body))
            .await
    }

    /// The page as PNG.
    pub async fn screenshot(&self) -> Vec<u8> {
        let value = self.command(Method::GET, "/screenshot", None).await;
        decode_base64(value.as_str().expect("base64"))
    }

    /// Ends the session (the browser closes).
    pub async fn quit(self) {
        send(&self.http, Method::DELETE, &self.session, None).await;
    }
}

/// One WebDriver call: its `value`, or a panic with the driver's error.
async fn send(
    http: &Client<HttpConnector, Full<Bytes>>,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    let bytes = body.map_or_else(Vec::new, |b| serde_json::to_vec(&b).unwrap());
    let request = Request::builder()
        .method(method.clone())
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(bytes)))
        .unwrap();
    let response = http.request(request).await.expect("chromedriver answers");
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let mut answer: Value = serde_json::from_slice(&bytes).expect("WebDriver JSON");
    assert!(
        status.is_success(),
        "{method} {url}: {status}: {}",
        answer["value"]
    );
    answer["value"].take()
}

/// Standard base64 (what WebDriver and `btoa` write) to bytes.
pub fn decode_base64(text: &str) -> Vec<u8> {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
    {
        acc = (acc << 6 | ABC.iter().position(|&a| a == c).expect("base64") as u32) & 0xffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn base64_decodes() {
    assert_eq!(decode_base64("TWlESQ=="), b"MiDI");
    assert_eq!(decode_base64("aGVsbG8gd29ybGQ="), b"hello world");
}
