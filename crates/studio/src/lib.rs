//! midigpt studio: one web page, served by the binary, to continue and fill MIDI with a model.
//!
//! A musician uploads a MIDI file (or starts from nothing), sees it as a piano roll, asks
//! for a continuation after a bar with the composing controls (instruments, tempo, metre,
//! length, temperature, top-p, seed, candidates), or for bars × tracks written again, or a
//! new track over every bar (with a model trained to fill bars), watches the notes arrive,
//! listens to each candidate against the original (audio rendered here, by the synthesizer
//! of `midigpt render`), accepts one, and downloads MIDI, WAV or a piano-roll PNG.
//!
//! The page (HTML, CSS and JavaScript) is compiled into the library: no network, no build
//! step. One worker thread owns the model and serves a bounded queue of jobs in turn; each
//! job can be cancelled. Uploads are capped and read by the same MIDI reader as the command
//! line; files the server writes (audio, pictures) live in one temporary folder of its own,
//! named by the server, and removed when the [`Studio`] is dropped.
//!
//! ```no_run
//! use midigpt_compose::ModelPackage;
//! use midigpt_model::Cpu;
//! use midigpt_studio::{Studio, StudioConfig};
//!
//! # async fn run() -> Result<(), midigpt_studio::StudioError> {
//! let studio = Studio::start(StudioConfig::default(), || {
//!     ModelPackage::<Cpu>::load(None, &Default::default())
//! })?;
//! let listener = studio.bind().await?;
//! println!("http://{}", listener.local_addr().unwrap());
//! studio.serve(listener, std::future::pending()).await?;
//! # Ok(()) }
//! ```

mod assets;
mod error;
mod jobs;
mod request;
mod routes;
mod store;
mod view;
mod worker;

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use midigpt_compose::{ComposeError, ModelPackage};
use midigpt_model::GptBackend;
use midigpt_render::{RenderOptions, Synth};

pub use error::StudioError;
pub use jobs::ModelInfo;
pub use request::{JobRequest, Sampling, Settings, Task};
pub use view::{ScoreView, TrackView};

/// How the studio listens and what it accepts. Every limit bounds memory or time a request
/// may take.
#[derive(Debug, Clone, PartialEq)]
pub struct StudioConfig {
    /// Address to listen on (127.0.0.1: only this computer).
    pub host: IpAddr,
    /// Port (8080; 0 picks a free one).
    pub port: u16,
    /// Largest upload, in bytes (4 MiB: far above a song, far below the reader's 64 MiB).
    pub max_upload_bytes: usize,
    /// Most notes an uploaded score may hold (100 000).
    pub max_notes: usize,
    /// Longest uploaded score, in seconds (20 minutes: audio of it still renders).
    pub max_seconds: f64,
    /// Jobs that may wait behind the running one (8); more are refused with "queue full".
    pub max_queue: usize,
    /// Candidates per job at most (8).
    pub max_candidates: usize,
    /// Bars a job may ask for at most (64).
    pub max_bars: usize,
    /// New tokens per candidate at most (a length in bars ends a candidate earlier); below
    /// the compose layer's budget ([`midigpt_compose::MAX_TOKENS`], the default), it lowers it.
    pub max_tokens: usize,
    /// Scores kept in memory (uploads, candidates, accepted pieces) (256); the least
    /// recently used go first.
    pub max_scores: usize,
    /// Bytes of audio and pictures kept in the temporary folder (1 GiB: five 20-minute
    /// songs' audio); the least recently used go first and are made again when asked for.
    pub max_folder_bytes: u64,
    /// How candidates are played (a SoundFont if installed, else the built-in synthesizer).
    pub render: RenderOptions,
}

impl Default for StudioConfig {
    fn default() -> Self {
        StudioConfig {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8080,
            max_upload_bytes: 4 << 20,
            max_notes: 100_000,
            max_seconds: 20.0 * 60.0,
            max_queue: 8,
            max_candidates: 8,
            max_bars: 64,
            max_tokens: midigpt_compose::MAX_TOKENS,
            max_scores: 256,
            max_folder_bytes: 1 << 30,
            render: RenderOptions {
                synth: Synth::Auto,
                ..RenderOptions::default()
            },
        }
    }
}

/// A running studio: its model worker, its scores and its temporary folder. Dropping it
/// stops the worker (cancelling the job in hand) and removes the folder.
pub struct Studio {
    state: Arc<routes::AppState>,
}

impl Studio {
    /// Loads the model on a worker thread of its own (with `load`, called there) and gets
    /// everything ready to serve; fails if the model or the synthesizer cannot be loaded.
    pub fn start<B, F>(config: StudioConfig, load: F) -> Result<Studio, StudioError>
    where
        B: GptBackend,
        F: FnOnce() -> Result<ModelPackage<B>, ComposeError> + Send + 'static,
    {
        let state = routes::AppState::new(config, load)?;
        Ok(Studio {
            state: Arc::new(state),
        })
    }

    /// The model being served.
    pub fn model(&self) -> &ModelInfo {
        &self.state.model
    }

    /// The router of the page and its API, for serving or for tests.
    pub fn router(&self) -> axum::Router {
        routes::router(self.state.clone())
    }

    /// A listener on the configured host and port.
    pub async fn bind(&self) -> Result<tokio::net::TcpListener, StudioError> {
        let addr = (self.state.config.host, self.state.config.port);
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StudioError::Bind {
                addr: format!("{}:{}", addr.0, addr.1),
                source,
            })
    }

    /// Serves on `listener` until `shutdown` completes, then cancels the jobs and returns.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StudioError> {
        let result = axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await;
        self.state.jobs.shutdown();
        result.map_err(StudioError::Serve)
    }

    /// Serves on the configured address on a runtime of its own until Ctrl-C; tells
    /// `listening` the address first.
    pub fn run_until_ctrl_c(
        &self,
        listening: impl FnOnce(std::net::SocketAddr),
    ) -> Result<(), StudioError> {
        let runtime = tokio::runtime::Runtime::new().map_err(StudioError::Serve)?;
        runtime.block_on(async {
            let listener = self.bind().await?;
            listening(listener.local_addr().map_err(StudioError::Serve)?);
            let ctrl_c = async {
                // Without a signal handler the server runs until the process is killed.
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            self.serve(listener, ctrl_c).await
        })
    }

    /// The folder the server writes its files into (removed when the studio is dropped).
    pub fn folder(&self) -> &std::path::Path {
        self.state.store.folder()
    }
}

impl Drop for Studio {
    fn drop(&mut self) {
        self.state.jobs.shutdown();
    }
}

/// Opens `url` in the desktop's browser (xdg-open, open, or start); an error if none ran.
pub fn open_browser(url: &str) -> std::io::Result<()> {
    use std::process::{Command, Stdio};
    let mut command = if cfg!(target_os = "macos") {
        Command::new("open")
    } else if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        Command::new("xdg-open")
    };
    command
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
}
