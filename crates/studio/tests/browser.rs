//! The studio in a real browser: headless Chromium driven through chromedriver (WebDriver).
//! A musician opens a song, picks the bars and a track, asks for two candidates, listens,
//! accepts one, undoes, and downloads the MIDI. Skips, saying so, without Chromium.
//!
//! `MIDIGPT_STUDIO_SCREENSHOTS=DIR` saves the page at each stage (empty, with a score, with
//! candidates) into DIR; `MIDIGPT_STUDIO_BUILTIN=1` serves the built-in model instead of
//! the tiny untrained one (real music in the screenshots, slower).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use midigpt_compose::ModelPackage;
use midigpt_midi::Score;
use midigpt_model::Cpu;
use midigpt_studio::{Studio, StudioConfig};
use serde_json::{json, Value};

/// The first of `names` found on the PATH.
fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// chromedriver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_driver(driver: &Path) -> (Driver, String) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let guard = Driver(child);
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "chromedriver did not listen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (guard, format!("http://127.0.0.1:{port}"))
}

async fn browser(chromium: &Path, driver: &str) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            // Root in a container needs --no-sandbox; autoplay lets `play()` run untouched.
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,900", "--autoplay-policy=no-user-gesture-required"],
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("a browser session")
}

/// Evaluates `script` (a function body returning a value) in the page.
async fn eval(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.expect(script)
}

/// Waits until `script` returns true.
async fn until(client: &Client, what: &str, script: &str, seconds: u64) {
    let start = Instant::now();
    while eval(client, script).await != Value::Bool(true) {
        let error = eval(client, "return document.getElementById('error').textContent").await;
        assert!(start.elapsed() < Duration::from_secs(seconds), "{what}: timed out; page error: {error}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn screenshot(client: &Client, name: &str) {
    let Some(dir) = std::env::var_os("MIDIGPT_STUDIO_SCREENSHOTS") else { return };
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_musician_continues_a_song_in_the_browser() {
    let chromium = which(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = which(&["chromedriver"]);
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        println!("skipped: the browser test needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver)");
        return;
    };
    let config = StudioConfig { max_tokens: 120, ..common::config() };
    let studio = if std::env::var_os("MIDIGPT_STUDIO_BUILTIN").is_some() {
        let config = StudioConfig { max_tokens: 2048, ..config };
        Studio::start(config, || ModelPackage::<Cpu>::load(None, &Default::default())).unwrap()
    } else {
        common::studio(config)
    };
    let listener = studio.bind().await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = studio.router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let (_driver, driver_url) = start_driver(&driver).await;
    let client = browser(&chromium, &driver_url).await;

    client.goto(&base).await.unwrap();
    until(&client, "the model", "return state.model !== null", 30).await;
    let model = eval(&client, "return document.getElementById('model').textContent").await;
    assert!(model.as_str().unwrap().contains("REMI+"), "{model}");
    screenshot(&client, "empty").await;

    // Open the song: the file input takes a path, as a person choosing it would.
    let input = client.find(Locator::Css("#upload")).await.unwrap();
    input.send_keys(common::SONG_PATH).await.unwrap();
    until(&client, "the upload", "return document.body.dataset.current !== ''", 30).await;
    let original = eval(&client, "return document.body.dataset.current").await;
    // The roll drew notes, in the tracks' colours.
    let drawn = eval(&client, "return Number(document.getElementById('roll').dataset.notes)").await;
    assert!(drawn.as_u64().unwrap() > 50, "notes drawn: {drawn}");
    let coloured = eval(&client, COLOURED_PIXELS).await;
    assert!(coloured.as_u64().unwrap() > 500, "coloured pixels: {coloured}");
    screenshot(&client, "score").await;

    // Continue after bar 4 (clicked on the ruler would do the same), with the first track's
    // instrument, two candidates of two bars.
    eval(&client, "document.getElementById('after-bar').value = 4; document.getElementById('bars').value = 2; document.getElementById('candidates').value = 2; return true").await;
    client.find(Locator::Css("#tracks .track")).await.unwrap().click().await.unwrap();
    let instruments = eval(&client, "return document.getElementById('instruments').value").await;
    assert!(!instruments.as_str().unwrap().is_empty(), "a track chosen");
    client.find(Locator::Css("#generate")).await.unwrap().click().await.unwrap();
    until(&client, "two candidates", "return document.body.dataset.job === 'idle' && document.querySelectorAll('#tabs .tab').length === 3", 300).await;
    let error = eval(&client, "return document.getElementById('error').textContent").await;
    assert_eq!(error, "", "no error shown");
    let shown = eval(&client, "return document.body.dataset.shown").await;
    assert_ne!(shown, original, "a candidate is shown");
    screenshot(&client, "candidates").await;

    // Its audio is a WAV the browser can play.
    let audio = client.execute_async(AUDIO, vec![]).await.unwrap();
    assert!(audio["src"].as_str().unwrap().ends_with("/audio.wav"), "{audio}");
    assert!(audio["duration"].as_f64().unwrap_or(0.0) > 1.0, "{audio}");
    assert!(audio["error"].is_null(), "{audio}");

    // Accept it, undo, redo: the piece follows.
    client.find(Locator::Css("#accept")).await.unwrap().click().await.unwrap();
    assert_eq!(eval(&client, "return document.body.dataset.current").await, shown);
    client.find(Locator::Css("#undo")).await.unwrap().click().await.unwrap();
    assert_eq!(eval(&client, "return document.body.dataset.current").await, original);
    client.find(Locator::Css("#redo")).await.unwrap().click().await.unwrap();
    assert_eq!(eval(&client, "return document.body.dataset.current").await, shown);

    // Download the accepted piece's MIDI and read it.
    let link = client.find(Locator::Css("#dl-mid")).await.unwrap();
    let href = link.attr("href").await.unwrap().expect("a link");
    let bytes = client.execute_async(FETCH_BASE64, vec![json!(href)]).await.unwrap();
    let bytes = decode_base64(bytes.as_str().unwrap());
    let piece = Score::from_bytes(&bytes).expect("the download is MIDI");
    let song = Score::from_bytes(common::SONG).unwrap();
    assert_eq!(piece.slice_bars(0..4).note_count(), song.slice_bars(0..4).note_count());
    client.close().await.unwrap();
    server.abort();
}

/// Pixels of the roll in a track colour (saturated, unlike the greys of the grid).
const COLOURED_PIXELS: &str = "
    const c = document.getElementById('roll');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
        if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) n++;
    }
    return n;";

/// The player's source, duration and error once its metadata has loaded.
const AUDIO: &str = "
    const done = arguments[arguments.length - 1];
    const p = document.getElementById('player');
    const report = () => done({src: p.currentSrc, duration: p.duration, error: p.error && p.error.code});
    if (p.readyState >= 1) report();
    else { p.addEventListener('loadedmetadata', report, {once: true});
           p.addEventListener('error', report, {once: true}); }";

/// The bytes at a URL, as base64 (what the download link gives).
const FETCH_BASE64: &str = "
    const done = arguments[arguments.length - 1];
    fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => {
        let s = ''; for (const x of new Uint8Array(b)) s += String.fromCharCode(x);
        done(btoa(s));
    });";

fn decode_base64(text: &str) -> Vec<u8> {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        acc = acc << 6 | ABC.iter().position(|&a| a == c).expect("base64") as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
