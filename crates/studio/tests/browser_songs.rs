//! The studio in a real browser on the songs that used to trip it: continuations of exactly
//! the bars asked across a 2/4 metre change and on a band song with bass and drums (the
//! built-in model), a long request cancelled, and a track added under a long song (a tiny
//! model with the infill tokens: the built-in one has none). Skips, saying so, without
//! Chromium; `MIDIGPT_STUDIO_SCREENSHOTS=DIR` saves the pages.

mod common;
mod webdriver;

use midigpt_compose::ModelPackage;
use midigpt_midi::{Note, Score, TimeSignature, Track};
use midigpt_model::Cpu;
use midigpt_studio::{Studio, StudioConfig};
use serde_json::{json, Value};
use webdriver::session::{eval, generate_one, screenshot, until, Browser};
use webdriver::WebDriver;

/// Serves `studio` (which must live as long: dropped, it stops) on a free port; returns its
/// address.
async fn serve(studio: &Studio) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = studio.bind().await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = studio.router();
    (
        base,
        tokio::spawn(async move { axum::serve(listener, router).await }),
    )
}

/// The test song in 4/4 (the file says 4/4 and 2/4 at once, as POP909's files do).
fn in_four() -> Score {
    let mut song = Score::from_bytes(common::SONG).unwrap();
    song.time_signatures = vec![TimeSignature {
        time: 0,
        numerator: 4,
        denominator: 4,
    }];
    song
}

/// The test song in 2/4 from its fifth bar on.
fn two_four() -> Score {
    let mut song = in_four();
    let at = song.bars().nth(4).unwrap();
    song.time_signatures.push(TimeSignature {
        time: at,
        numerator: 2,
        denominator: 4,
    });
    song
}

/// The test song as a band: its piano, a bass and a drum kit.
fn band() -> Score {
    let mut song = in_four();
    let tpq = song.ticks_per_quarter as u32;
    let beats = 0..song.bar_count() as u32 * 4;
    let note = |b: u32, pitch| Note {
        time: b * tpq,
        duration: tpq / 2,
        pitch,
        velocity: 90,
    };
    song.tracks.push(Track {
        name: "bass".into(),
        program: 33,
        notes: beats.clone().step_by(2).map(|b| note(b, 36)).collect(),
        ..Track::default()
    });
    song.tracks.push(Track {
        name: "drums".into(),
        is_drum: true,
        notes: beats.map(|b| note(b, 36 + 2 * (b % 2) as u8)).collect(),
        ..Track::default()
    });
    song
}

/// `song` played twice in a row.
fn twice(song: Score) -> Score {
    let length = song.bar_count() as u32 * 4 * song.ticks_per_quarter as u32;
    let mut long = song.clone();
    for (track, notes) in long.tracks.iter_mut().zip(&song.tracks) {
        track.notes = (0..2)
            .flat_map(|k| {
                notes.notes.iter().map(move |n| Note {
                    time: n.time + k * length,
                    ..*n
                })
            })
            .collect();
    }
    long
}

/// Opens `score` in the page through the file input, as a person choosing the file would.
async fn open(client: &WebDriver, folder: &std::path::Path, name: &str, score: &Score) {
    let path = folder.join(format!("{name}.mid"));
    score.write_file(&path).unwrap();
    let input = client.find("#upload").await;
    client.send_keys(&input, path.to_str().unwrap()).await;
    until(
        client,
        name,
        &format!("return document.getElementById('title').textContent.startsWith({name:?})"),
        30,
    )
    .await;
}

/// Fills the continue form, generates one candidate and waits for it.
async fn continue_after(client: &WebDriver, after: usize, bars: usize, instruments: &str) {
    let form = format!(
        "document.getElementById('after-bar').value = {after}; \
         document.getElementById('bars').value = {bars}; \
         document.getElementById('instruments').value = {instruments:?}; \
         document.getElementById('candidates').value = 1; return true"
    );
    eval(client, &form).await;
    generate_one(client).await;
}

/// The shown candidate's bars, and the bars (0-based) in which its notes start.
const BARS_AND_ONSETS: &str = "
    const take = state.takes[state.selected].score, b = take.bars;
    const bar = (t) => { let i = 0; while (i + 1 < b.length - 1 && b[i + 1] <= t + 1e-6) i++; return i; };
    const onsets = new Set(take.tracks.flatMap((t) => t.notes.map((n) => bar(n[0]))));
    return [b.length - 1, [...onsets].sort((x, y) => x - y)];";

/// The bars of the shown candidate, and the last bar a note starts in; checks no warning.
async fn written(client: &WebDriver) -> (u64, u64) {
    let warning = eval(
        client,
        "const w = document.querySelector('[data-warning]'); return w.hidden ? '' : w.textContent",
    )
    .await;
    assert_eq!(warning, "", "no warning");
    let got = eval(client, BARS_AND_ONSETS).await;
    let onsets = got[1].as_array().unwrap();
    (
        got[0].as_u64().unwrap(),
        onsets.last().unwrap().as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn songs_get_the_bars_asked_a_long_request_cancels_and_a_long_song_gets_a_track() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let (_driver, client) = browser.open().await;
    let folder = tempfile::tempdir().unwrap();

    // The built-in model, on the songs a musician brings.
    let config = StudioConfig {
        max_tokens: 4096,
        ..common::config()
    };
    let builtin = Studio::start(config, || {
        ModelPackage::<Cpu>::load(None, &Default::default())
    })
    .unwrap();
    let (base, server) = serve(&builtin).await;
    client.goto(&base).await;
    until(&client, "the model", "return state.model !== null", 30).await;

    // After bar 6 of a song in 2/4 since bar 5: three bars of 2/4, notes in the last.
    open(&client, folder.path(), "two four", &two_four()).await;
    continue_after(&client, 6, 3, "").await;
    assert_eq!(written(&client).await, (9, 8), "bars, last bar with a note");
    screenshot(&client, "two-four").await;

    // A band song after bar 8, the piano going on: two bars, the song's bass and drums
    // kept in the bars before.
    open(&client, folder.path(), "band", &band()).await;
    let drums = eval(
        &client,
        "return document.querySelectorAll('#tracks .track[data-program=\"-1\"]').length",
    )
    .await;
    assert_eq!(drums, json!(1), "the drum track is shown");
    continue_after(&client, 8, 2, "piano").await;
    assert_eq!(
        written(&client).await,
        (10, 9),
        "bars, last bar with a note"
    );
    let parts = eval(
        &client,
        "return state.takes[state.selected].score.tracks.map((t) => t.program).sort((a, b) => a - b)",
    )
    .await;
    assert_eq!(parts, json!([-1, 0, 33]), "the band's parts stay");
    screenshot(&client, "band").await;

    // A long request, cancelled: the job stops, says so, and adds no candidate.
    let tabs = eval(
        &client,
        "return document.querySelectorAll('#tabs .tab').length",
    )
    .await;
    eval(
        &client,
        "document.getElementById('bars').value = 64; return true",
    )
    .await;
    client.click(&client.find("#generate").await).await;
    until(
        &client,
        "the job running",
        "return document.body.dataset.job === 'running'",
        30,
    )
    .await;
    client.click(&client.find("#cancel").await).await;
    until(
        &client,
        "the job cancelled",
        "return document.body.dataset.job === 'idle'",
        60,
    )
    .await;
    let status = eval(
        &client,
        "return document.getElementById('status').textContent",
    )
    .await;
    assert_eq!(status, "cancelled");
    let after = eval(
        &client,
        "return document.querySelectorAll('#tabs .tab').length",
    )
    .await;
    assert_eq!(after, tabs, "no candidate from a cancelled job");
    server.abort();

    // A bass added under a long song (over a hundred bars: the fill goes window by window).
    let config = StudioConfig {
        max_tokens: 8192,
        ..common::config()
    };
    let infill = Studio::start(config, || Ok(common::tiny_infill_model())).unwrap();
    let (base, server) = serve(&infill).await;
    client.goto(&base).await;
    until(&client, "the model", "return state.model !== null", 30).await;
    let long = twice(in_four());
    open(&client, folder.path(), "long song", &long).await;
    let bars = eval(&client, "return state.history[state.pos].bars.length - 1").await;
    assert!(bars.as_u64().unwrap() >= 100, "{bars} bars");
    eval(
        &client,
        "const m = document.getElementById('mode'); m.value = 'add_track'; \
         m.dispatchEvent(new Event('change')); \
         document.getElementById('add-instrument').value = 'bass'; \
         document.getElementById('candidates').value = 1; return true",
    )
    .await;
    client.click(&client.find("#generate").await).await;
    until(&client, "the bass", "return document.body.dataset.job === 'idle' && document.querySelectorAll('#tabs .tab').length === 2", 300).await;
    let error = eval(
        &client,
        "return document.getElementById('error').textContent",
    )
    .await;
    assert_eq!(error, "", "no error shown");
    // The bass plays in the song's last quarter too, or the page warns why not; the piano is
    // the song's, note for note.
    let take = eval(&client, BASS_AND_PIANO).await;
    let warned = eval(
        &client,
        "return !document.querySelector('[data-warning]').hidden",
    )
    .await;
    assert!(
        take["last_bass_bar"].as_f64().unwrap() >= 0.75 * bars.as_f64().unwrap()
            || warned == Value::Bool(true),
        "{take}"
    );
    assert_eq!(take["piano_same"], json!(true), "{take}");
    screenshot(&client, "long-song-bass").await;
    client.quit().await;
    server.abort();
}

/// The shown candidate's last bar with a bass note, and whether its piano is the piece's.
const BASS_AND_PIANO: &str = "
    const piece = state.history[state.pos], take = state.takes[state.selected].score;
    const b = take.bars, bar = (t) => b.filter((s) => s <= t + 1e-6).length - 1;
    const bass = take.tracks.find((t) => t.program === 33);
    const piano = (v) => JSON.stringify(v.tracks.filter((t) => t.program !== 33));
    return {last_bass_bar: bass ? Math.max(...bass.notes.map((n) => bar(n[0]))) : -1,
            piano_same: piano(piece) === piano(take)};";
