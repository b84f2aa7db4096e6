//! The studio in a real browser: headless Chromium driven through chromedriver (WebDriver).
//! A musician opens a song, picks the bars and a track, asks for two candidates, listens,
//! accepts one, undoes, and downloads the MIDI; then selects bars on the roll and a track,
//! has them written again, listens, accepts and undoes. Skips, saying so, without Chromium.
//!
//! `MIDIGPT_STUDIO_SCREENSHOTS=DIR` saves the page at each stage (empty, with a score, with
//! candidates, a selection to regenerate, its candidates) into DIR;
//! `MIDIGPT_STUDIO_BUILTIN=1` serves the built-in model instead of the tiny untrained one
//! (real music in the screenshots, slower; it has no infill tokens, so the page's refusal
//! to fill is checked instead).

mod common;
mod webdriver;

use midigpt_compose::ModelPackage;
use midigpt_midi::Score;
use midigpt_model::Cpu;
use midigpt_studio::{Studio, StudioConfig};
use serde_json::{json, Value};
use webdriver::session::{eval, generate_one, screenshot, until, Browser};
use webdriver::{decode_base64, WebDriver};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_musician_continues_a_song_in_the_browser() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let config = StudioConfig {
        max_tokens: 120,
        ..common::config()
    };
    let studio = if std::env::var_os("MIDIGPT_STUDIO_BUILTIN").is_some() {
        let config = StudioConfig {
            max_tokens: 2048,
            ..config
        };
        Studio::start(config, || {
            ModelPackage::<Cpu>::load(None, &Default::default())
        })
        .unwrap()
    } else {
        // A model that says what it learnt from: piano only.
        Studio::start(config, || {
            Ok(ModelPackage {
                programs: Some([(0, 1000)].into()),
                ..common::tiny_infill_model()
            })
        })
        .unwrap()
    };
    let listener = studio.bind().await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = studio.router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let (_driver, client) = browser.open().await;

    client.goto(&base).await;
    until(&client, "the model", "return state.model !== null", 30).await;
    let model = eval(
        &client,
        "return document.getElementById('model').textContent",
    )
    .await;
    assert!(model.as_str().unwrap().contains("REMI+"), "{model}");
    screenshot(&client, "empty").await;

    // Open the song: the file input takes a path, as a person choosing it would.
    let input = client.find("#upload").await;
    client.send_keys(&input, common::SONG_PATH).await;
    until(
        &client,
        "the upload",
        "return document.body.dataset.current !== ''",
        30,
    )
    .await;
    let original = eval(&client, "return document.body.dataset.current").await;
    // The roll drew notes, in the tracks' colours.
    let drawn = eval(
        &client,
        "return Number(document.getElementById('roll').dataset.notes)",
    )
    .await;
    assert!(drawn.as_u64().unwrap() > 50, "notes drawn: {drawn}");
    let coloured = eval(&client, COLOURED_PIXELS).await;
    assert!(
        coloured.as_u64().unwrap() > 500,
        "coloured pixels: {coloured}"
    );
    screenshot(&client, "score").await;

    // Continue after bar 4 (clicked on the ruler would do the same), with the first track's
    // instrument, two candidates of two bars.
    eval(&client, "document.getElementById('after-bar').value = 4; document.getElementById('bars').value = 2; document.getElementById('candidates').value = 2; return true").await;
    let track = client.find("#tracks .track").await;
    client.click(&track).await;
    let instruments = eval(
        &client,
        "return document.getElementById('instruments').value",
    )
    .await;
    assert!(!instruments.as_str().unwrap().is_empty(), "a track chosen");
    client.click(&client.find("#generate").await).await;
    until(&client, "two candidates", "return document.body.dataset.job === 'idle' && document.querySelectorAll('#tabs .tab').length === 3", 300).await;
    let error = eval(
        &client,
        "return document.getElementById('error').textContent",
    )
    .await;
    assert_eq!(error, "", "no error shown");
    let shown = eval(&client, "return document.body.dataset.shown").await;
    assert_ne!(shown, original, "a candidate is shown");
    screenshot(&client, "candidates").await;

    // Its audio is a WAV the browser can play.
    let audio = client.execute_async(AUDIO, vec![]).await;
    assert!(
        audio["src"].as_str().unwrap().ends_with("/audio.wav"),
        "{audio}"
    );
    assert!(audio["duration"].as_f64().unwrap_or(0.0) > 1.0, "{audio}");
    assert!(audio["error"].is_null(), "{audio}");

    // Another candidate joins the two (they stay until discarded), and goes when discarded.
    eval(
        &client,
        "document.getElementById('candidates').value = 1; return true",
    )
    .await;
    client.click(&client.find("#generate").await).await;
    until(&client, "a third candidate", "return document.body.dataset.job === 'idle' && document.querySelectorAll('#tabs .tab').length === 4", 300).await;
    assert_eq!(eval(&client, "return state.selected").await, json!(2));
    client.click(&client.find("#discard").await).await;
    let tabs = eval(
        &client,
        "return [...document.querySelectorAll('#tabs .tab')].map((t) => t.textContent.replace(' ⚠', ''))",
    )
    .await;
    assert_eq!(tabs, json!(["Original", "Candidate 1", "Candidate 2"]));
    eval(
        &client,
        "document.getElementById('candidates').value = 2; return true",
    )
    .await;

    // Seek in it, switch to the original: the player stays where it was.
    let seek = client.execute_async(SEEK_AND_SWITCH, vec![]).await;
    assert!(seek["seekable"].as_f64().unwrap() > 1.0, "{seek}");
    assert!(
        (seek["before"].as_f64().unwrap() - 0.8).abs() < 0.05,
        "{seek}"
    );
    assert!(
        (seek["after"].as_f64().unwrap() - 0.8).abs() < 0.05,
        "{seek}"
    );
    assert!(
        seek["src"]
            .as_str()
            .unwrap()
            .contains(&format!("/api/scores/{}/", original.as_str().unwrap())),
        "{seek}"
    );
    client
        .click(&client.find("#tabs .tab[data-index='0']").await)
        .await;

    // Accept it: it goes in after bar 4, and the song's bars after bar 4 stay, after it.
    let bars = |view: &str| format!("return state.{view}.bars.length - 1");
    let song_bars = eval(&client, &bars("history[state.pos]"))
        .await
        .as_u64()
        .unwrap();
    let new_bars = eval(&client, &bars("takes[0].score"))
        .await
        .as_u64()
        .unwrap()
        - 4;
    client.click(&client.find("#accept").await).await;
    until(
        &client,
        "the accepted piece",
        &format!("return document.body.dataset.current !== {original}"),
        30,
    )
    .await;
    let accepted = eval(&client, "return document.body.dataset.current").await;
    assert_eq!(
        eval(&client, &bars("history[state.pos]")).await,
        json!(song_bars + new_bars)
    );
    client.click(&client.find("#undo").await).await;
    assert_eq!(
        eval(&client, "return document.body.dataset.current").await,
        original
    );
    client.click(&client.find("#redo").await).await;
    assert_eq!(
        eval(&client, "return document.body.dataset.current").await,
        accepted
    );
    // A reload finds the piece and its history again.
    client.goto(&base).await;
    until(
        &client,
        "the history",
        &format!("return document.body.dataset.current === {accepted}"),
        30,
    )
    .await;
    client.click(&client.find("#undo").await).await;
    assert_eq!(
        eval(&client, "return document.body.dataset.current").await,
        original
    );
    client.click(&client.find("#redo").await).await;

    // Download the accepted piece's MIDI and read it.
    let link = client.find("#dl-mid").await;
    let href = client.attr(&link, "href").await;
    assert!(href.as_str().unwrap().ends_with("/score.mid"), "{href}");
    let bytes = client.execute_async(FETCH_BASE64, vec![href]).await;
    let bytes = decode_base64(bytes.as_str().unwrap());
    let piece = Score::from_bytes(&bytes).expect("the download is MIDI");
    let song = Score::from_bytes(common::SONG).unwrap();
    assert_eq!(
        piece.slice_bars(0..4).note_count(),
        song.slice_bars(0..4).note_count()
    );
    let (n, after) = (song.bar_count(), 4 + new_bars as usize);
    assert_eq!(
        piece.slice_bars(after..after + n - 4).note_count(),
        song.slice_bars(4..n).note_count(),
        "the bars after the cut, after the new ones"
    );
    a_budget_too_small_is_a_warning(&client).await;
    regenerate_a_selection(&client).await;
    client.quit().await;
    server.abort();
}

/// The song's first bars as piano and bass, opened in the page; bars 3 and 4 of the bass
/// written again: a drag across them on the roll, a click on the bass, two candidates whose
/// other notes are the piece's, accept, undo.
async fn regenerate_a_selection(client: &WebDriver) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("piano and bass.mid");
    common::two_tracks()
        .slice_bars(0..8)
        .write_file(&path)
        .unwrap();
    let input = client.find("#upload").await;
    client.send_keys(&input, path.to_str().unwrap()).await;
    until(
        client,
        "the second upload",
        "return document.querySelectorAll('#tracks .track').length === 2",
        30,
    )
    .await;
    // The bass is an instrument this model never heard: its chip and a note say so before
    // anything is generated.
    let unheard = eval(client, "return [...document.querySelectorAll('#tracks .track.unheard')].map((c) => c.dataset.program)").await;
    assert_eq!(unheard, json!(["33"]));
    let note = eval(client, "const n = document.querySelector('[data-instrument-note]'); return n.hidden ? '' : n.textContent").await;
    let note = note.as_str().unwrap();
    assert!(
        note.starts_with("This model never heard Electric Bass (finger) in training"),
        "{note}"
    );
    // A new file starts from the defaults: nothing of the last song's settings.
    let form = eval(client, "return ['instruments', 'bars', 'after-bar'].map((id) => document.getElementById(id).value)").await;
    let last = eval(
        client,
        "return String(state.history[state.pos].bars.length - 1)",
    )
    .await;
    assert_eq!(
        form,
        json!(["", "", last]),
        "after bar: the new file's last bar"
    );
    eval(
        client,
        "const m = document.getElementById('mode'); m.value = 'infill'; \
         m.dispatchEvent(new Event('change')); return true",
    )
    .await;
    if eval(client, "return state.model.cannot_fill !== null").await == Value::Bool(true) {
        // A model without the infill tokens: the page says so and will not send the request.
        let note = eval(
            client,
            "const n = document.getElementById('fill-note'); return n.hidden ? '' : n.textContent",
        )
        .await;
        assert!(
            note.as_str()
                .unwrap()
                .starts_with("This model cannot fill bars: "),
            "{note}"
        );
        let disabled = eval(
            client,
            "return document.getElementById('generate').disabled",
        )
        .await;
        assert_eq!(disabled, Value::Bool(true));
        screenshot(client, "infill-refused").await;
        return;
    }
    let before = eval(client, "return document.body.dataset.current").await;
    // From the middle of bar 3 to the middle of bar 4, below the ruler.
    let points = eval(client, DRAG_POINTS).await;
    let roll = client.find("#roll").await;
    let xy = |i: usize| points[i].as_i64().unwrap();
    client.drag(&roll, (xy(0), xy(2)), (xy(1), xy(2))).await;
    let selection = eval(client, "return [state.selection, document.getElementById('fill-from').value, document.getElementById('fill-to').value]").await;
    assert_eq!(
        selection,
        json!([{"from": 2, "to": 4}, "3", "4"]),
        "the dragged bars"
    );
    let bass = client.find("#tracks .track[data-program='33']").await;
    client.click(&bass).await;
    let tracks = eval(client, "return state.fillTracks").await;
    assert_eq!(tracks, json!([33]), "the bass chosen");
    screenshot(client, "infill-selection").await;
    client.click(&client.find("#generate").await).await;
    until(client, "two fills", "return document.body.dataset.job === 'idle' && document.querySelectorAll('#tabs .tab').length === 3", 300).await;
    let error = eval(
        client,
        "return document.getElementById('error').textContent",
    )
    .await;
    assert_eq!(error, "", "no error shown");
    let shown = eval(client, "return document.body.dataset.shown").await;
    assert_ne!(shown, before, "a candidate is shown");
    let drawn = eval(
        client,
        "return Number(document.getElementById('roll').dataset.notes)",
    )
    .await;
    assert!(drawn.as_u64().unwrap() > 10, "notes drawn: {drawn}");
    // Outside the selected bars of the bass, the candidate is the piece (the piano there too).
    let same = eval(client, SAME_OUTSIDE).await;
    assert_eq!(
        same,
        Value::Bool(true),
        "notes outside the selection changed"
    );
    screenshot(client, "infill-candidates").await;
    let audio = client.execute_async(AUDIO, vec![]).await;
    assert!(audio["duration"].as_f64().unwrap_or(0.0) > 1.0, "{audio}");
    assert!(audio["error"].is_null(), "{audio}");
    client.click(&client.find("#accept").await).await;
    assert_eq!(
        eval(client, "return document.body.dataset.current").await,
        shown
    );
    client.click(&client.find("#undo").await).await;
    assert_eq!(
        eval(client, "return document.body.dataset.current").await,
        before
    );
}

/// x of the middles of bars 3 and 4 and a y under the ruler, from the roll's centre.
const DRAG_POINTS: &str = "
    const c = document.getElementById('roll'), b = roll.bars();
    const cx = c.clientWidth / 2, cy = c.clientHeight / 2;
    return [Math.round(roll.x((b[2] + b[3]) / 2) - cx), Math.round(roll.x((b[3] + b[4]) / 2) - cx),
            Math.round(80 - cy)];";

/// Whether the shown candidate's notes outside the region are the piece's, note for note.
const SAME_OUTSIDE: &str = "
    const piece = state.history[state.pos], take = state.takes[state.selected].score;
    const r = roll.region;
    const notes = (v) => v.tracks.flatMap((t) => t.notes
        .filter((n) => !roll.written(t.program, n[0]))
        .map((n) => JSON.stringify([t.program, ...n]))).sort();
    return r.programs.length === 1 && JSON.stringify(notes(piece)) === JSON.stringify(notes(take));";

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

/// Seeks the player to 0.8 s, then shows the original: where it was, where it is after,
/// what it plays, and how far it can seek.
const SEEK_AND_SWITCH: &str = "
    const done = arguments[arguments.length - 1];
    const p = document.getElementById('player');
    const once = (what) => new Promise((r) => p.addEventListener(what, r, {once: true}));
    (async () => {
        if (p.readyState < 1) await once('loadedmetadata');
        const seekable = p.seekable.length ? p.seekable.end(0) : 0;
        const seeked = once('seeked');
        p.currentTime = 0.8;
        await seeked;
        const before = p.currentTime;
        const loaded = once('loadedmetadata');
        document.querySelector('#tabs .tab[data-index=\"-1\"]').click();
        await loaded;
        await new Promise((r) => setTimeout(r, 100));
        done({seekable, before, after: p.currentTime, src: p.getAttribute('src')});
    })();";

/// A continuation asked for more bars than its token budget holds: the page says so as a
/// warning, not as done.
async fn a_budget_too_small_is_a_warning(client: &WebDriver) {
    eval(client, "document.getElementById('bars').value = 60; document.getElementById('candidates').value = 1; return true").await;
    generate_one(client).await;
    let warning = eval(
        client,
        "const w = document.querySelector('[data-warning]'); return w.hidden ? '' : w.textContent",
    )
    .await;
    assert!(
        warning.as_str().unwrap().contains("token budget ran out"),
        "{warning}"
    );
    let status = eval(
        client,
        "return document.getElementById('status').textContent",
    )
    .await;
    assert_eq!(status, "1 of 1 candidates with a warning");
    screenshot(client, "warning").await;
    // A new piece clears it, and the form (the sampling settings stay: they are the
    // musician's, not the piece's).
    eval(
        client,
        "document.getElementById('candidates').value = 2; return true",
    )
    .await;
    client.click(&client.find("#new").await).await;
    let cleared = eval(client, "return [document.querySelector('[data-warning]').hidden, document.getElementById('bars').value, document.getElementById('after-bar').value]").await;
    assert_eq!(cleared, json!([true, "", "0"]));
}

/// The bytes at a URL, as base64 (what the download link gives).
const FETCH_BASE64: &str = "
    const done = arguments[arguments.length - 1];
    fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => {
        let s = ''; for (const x of new Uint8Array(b)) s += String.fromCharCode(x);
        done(btoa(s));
    });";
