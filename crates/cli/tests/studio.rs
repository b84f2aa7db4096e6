//! `midigpt studio`: serves the page with the built-in model, stops cleanly on Ctrl-C, and
//! says clearly when the model is missing.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use common::{midigpt_output, start_studio};

#[test]
fn a_missing_model_is_named() {
    let (ok, text) = midigpt_output(&["studio", "--model", "no-such-run", "--port", "0"]);
    assert!(!ok);
    assert!(
        text.contains("no-such-run") && text.contains("does not exist"),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn the_studio_serves_the_built_in_model_until_ctrl_c() {
    let (mut child, url, mut out) = start_studio();
    assert!(
        url.starts_with("127.0.0.1:"),
        "{url}: only this computer by default"
    );
    let mut stream = TcpStream::connect(&url).unwrap();
    write!(
        stream,
        "GET /api/model HTTP/1.1\r\nHost: {url}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"tokenizer\":\"REMI+\""), "{answer}");
    // Ctrl-C stops it, with its temporary files.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(
        rest.contains("stopped; the studio's temporary files are removed"),
        "{rest}"
    );
}
