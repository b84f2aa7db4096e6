//! One request, one meaning: the same words and seed give the same music from the command
//! line (`midigpt generate`) and from the studio's HTTP API, for a new piece, a continuation
//! and a fill, with the built-in model and every other setting left to its default.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Child;

use common::{midigpt, start_studio};
use midigpt_midi::Score;
use serde_json::{json, Value};

/// A POP909 song shipped with the built-in model (MIT, see models/pop909/README.md).
fn prompt() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/pop909/prompts/pop909-043.mid")
}

/// `midigpt studio --builtin` on a free port, stopped when dropped.
struct Studio {
    child: Child,
    address: String,
}

impl Studio {
    fn start() -> Studio {
        let (child, address, _) = start_studio();
        Studio { child, address }
    }

    /// One HTTP/1.1 exchange; the status line and the body.
    fn call(&self, method: &str, path: &str, body: &[u8]) -> (String, Vec<u8>) {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.address,
            body.len()
        )
        .unwrap();
        stream.write_all(body).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&answer[..split]).into_owned();
        assert!(
            !head.contains("Transfer-Encoding: chunked"),
            "a plain body expected: {head}"
        );
        let status = head.lines().next().unwrap().to_owned();
        (status, answer[split + 4..].to_vec())
    }

    fn json(&self, method: &str, path: &str, body: &[u8]) -> Value {
        let (status, body) = self.call(method, path, body);
        assert!(
            status.contains(" 20"),
            "{status}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).unwrap()
    }

    /// Runs a job to its end; the score of its one candidate.
    fn run(&self, job: Value) -> Score {
        let id = self.json("POST", "/api/jobs", job.to_string().as_bytes())["id"]
            .as_u64()
            .unwrap();
        let job = loop {
            let job = self.json("GET", &format!("/api/jobs/{id}"), b"");
            if !matches!(job["status"].as_str(), Some("queued" | "running")) {
                break job;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert_eq!(job["status"], "done", "{job}");
        let events = job["events"].as_array().unwrap();
        let candidate = events.iter().find(|e| e["type"] == "candidate").unwrap();
        let score = candidate["score"]["id"].as_u64().unwrap();
        let (status, mid) = self.call("GET", &format!("/api/scores/{score}/score.mid"), b"");
        assert!(status.contains(" 200"), "{status}");
        Score::from_bytes(&mid).unwrap()
    }
}

impl Drop for Studio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `midigpt generate ARGS --out DIR`: the one piece it wrote.
fn generate(args: &[&str]) -> Score {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    midigpt(&[&["generate", "--out", out], args].concat());
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "mid"))
        .expect("a .mid file");
    Score::from_file(&file).unwrap()
}

/// Every note as (program, drums, start, length, pitch, velocity), in order.
fn notes(score: &Score) -> Vec<(u8, bool, u32, u32, u8, u8)> {
    let mut notes: Vec<_> = (score.tracks.iter())
        .flat_map(|t| {
            (t.notes.iter()).map(|n| {
                (
                    t.program, t.is_drum, n.time, n.duration, n.pitch, n.velocity,
                )
            })
        })
        .collect();
    notes.sort();
    notes
}

fn assert_same(cli: &Score, studio: &Score, what: &str) {
    assert!(cli.note_count() > 0, "{what}: no notes");
    assert_eq!(cli.ticks_per_quarter, studio.ticks_per_quarter, "{what}");
    assert_eq!(notes(cli), notes(studio), "{what}: the same notes");
    let tempos = |s: &Score| {
        s.tempos
            .iter()
            .map(|t| (t.time, t.mspq))
            .collect::<Vec<_>>()
    };
    assert_eq!(tempos(cli), tempos(studio), "{what}: the same tempos");
}

#[test]
fn the_command_line_and_the_studio_make_the_same_music_from_the_same_request() {
    let studio = Studio::start();
    let prompt = prompt();
    let song = std::fs::read(&prompt).unwrap();
    let uploaded = studio.json("POST", "/api/scores?name=song.mid", &song)["id"].clone();

    let cli = generate(&["--bars", "4", "--seed", "5"]);
    let page = studio.run(json!({
        "task": {"mode": "continue", "after_bar": 0},
        "settings": {"bars": 4},
        "sampling": {"seed": 5},
    }));
    assert_same(&cli, &page, "a new piece");

    let path = prompt.to_str().unwrap();
    let cli = generate(&[
        "--prompt",
        path,
        "--prompt-bars",
        "8",
        "--bars",
        "2",
        "--seed",
        "6",
    ]);
    let page = studio.run(json!({
        "score": uploaded,
        "task": {"mode": "continue", "after_bar": 8},
        "settings": {"bars": 2},
        "sampling": {"seed": 6},
    }));
    assert_same(&cli, &page, "a continuation");

    let cli = generate(&["--prompt", path, "--infill-bars", "10..11", "--seed", "7"]);
    let page = studio.run(json!({
        "score": uploaded,
        "task": {"mode": "infill", "bars": [9, 11]},
        "sampling": {"seed": 7},
    }));
    assert_same(&cli, &page, "a fill");
}
