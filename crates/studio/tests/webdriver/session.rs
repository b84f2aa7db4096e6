//! A headless Chromium under chromedriver for a test, and the page helpers the browser tests
//! share: evaluate a script, wait for a condition, save a screenshot.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::WebDriver;

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
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Chromium and chromedriver, found on the PATH.
pub struct Browser {
    chromium: PathBuf,
    driver: PathBuf,
}

impl Browser {
    /// Both programs; `None`, saying so, where they are missing. CI installs them: there
    /// (`CI=true`) a missing browser fails the test instead of skipping it.
    pub fn find() -> Option<Browser> {
        let chromium = which(&["chromium", "chromium-browser", "google-chrome"]);
        let driver = which(&["chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            let why = "the browser test needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver)";
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
            println!("skipped: {why}");
            return None;
        };
        Some(Browser { chromium, driver })
    }

    /// Starts chromedriver and opens a headless browser session on it.
    pub async fn open(&self) -> (Driver, WebDriver) {
        let (guard, url) = start_driver(&self.driver).await;
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                // Root in a container needs --no-sandbox.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1400,900"],
            },
        });
        (guard, WebDriver::start(&url, capabilities).await)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver did not listen"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (guard, format!("http://127.0.0.1:{port}"))
}

/// Evaluates `script` (a function body returning a value) in the page.
pub async fn eval(client: &WebDriver, script: &str) -> Value {
    client.execute(script, vec![]).await
}

/// Waits until `script` returns true.
pub async fn until(client: &WebDriver, what: &str, script: &str, seconds: u64) {
    let start = Instant::now();
    while eval(client, script).await != Value::Bool(true) {
        let error = eval(
            client,
            "return document.getElementById('error').textContent",
        )
        .await;
        assert!(
            start.elapsed() < Duration::from_secs(seconds),
            "{what}: timed out; page error: {error}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Clicks Generate and waits until the job is over and its one candidate's tab is there
/// (right after the click the page is still idle: the request is on its way).
pub async fn generate_one(client: &WebDriver) {
    let tabs = eval(
        client,
        "return document.querySelectorAll('#tabs .tab').length",
    )
    .await;
    let more = tabs.as_u64().unwrap().max(1) + 1;
    client.click(&client.find("#generate").await).await;
    let done = format!(
        "return document.body.dataset.job === 'idle' && \
         document.querySelectorAll('#tabs .tab').length === {more}"
    );
    until(client, "the candidate", &done, 300).await;
}

/// Saves the page as `NAME.png` in `$MIDIGPT_STUDIO_SCREENSHOTS`, where that is set.
pub async fn screenshot(client: &WebDriver, name: &str) {
    let Some(dir) = std::env::var_os("MIDIGPT_STUDIO_SCREENSHOTS") else {
        return;
    };
    let png = client.screenshot().await;
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
}
