//! `midigpt studio`: the web page to continue MIDI with a model, served until Ctrl-C. The
//! server is `midigpt_studio`'s; this only wires the arguments.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use midigpt_compose::ModelPackage;
use midigpt_model::Cpu;
use midigpt_studio::{open_browser, Studio, StudioConfig};

use crate::generate::model_name;
use crate::render::SynthArgs;

/// Arguments of `midigpt studio`.
#[derive(Debug, clap::Args)]
pub struct StudioArgs {
    /// Run folder of `midigpt train`, model folder of `midigpt export` or a Hugging Face
    /// folder; the built-in POP909 model when omitted.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on: 127.0.0.1 lets in only this computer; 0.0.0.0 the network.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Open the page in the desktop's browser.
    #[arg(long)]
    pub open: bool,
    #[command(flatten)]
    pub synth: SynthArgs,
}

/// Runs `midigpt studio`.
pub fn run(args: &StudioArgs) -> Result<ExitCode> {
    let config = StudioConfig {
        host: args.host,
        port: args.port,
        render: args.synth.options(),
        ..StudioConfig::default()
    };
    let model = args.model.clone();
    let name = model_name(args.model.as_deref());
    println!("loading {name}");
    let studio = Studio::start(config, move || {
        ModelPackage::<Cpu>::load(model.as_deref(), &Default::default())
    })
    .with_context(|| format!("starting the studio with {name}"))?;
    studio.run_until_ctrl_c(|addr| {
        let url = format!("http://{addr}/");
        let m = studio.model();
        println!(
            "midigpt studio: {url} ({}, {}); Ctrl-C stops it",
            m.name, m.tokenizer
        );
        if !addr.ip().is_loopback() {
            println!(
                "note: listening on {}: anyone who can reach it can use the model",
                addr.ip()
            );
        }
        if args.open {
            if let Err(e) = open_browser(&url) {
                eprintln!("warning: could not open a browser ({e}); open {url}");
            }
        }
    })?;
    println!("stopped; the studio's temporary files are removed");
    Ok(ExitCode::SUCCESS)
}
