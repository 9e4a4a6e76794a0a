//! `zkthread-cairo`: the Cairo front-end of zkthreads, standing in for scarb (not obtainable
//! here). Compiles a Scarb workspace's Starknet contracts to Sierra classes (`build`) and runs
//! its Cairo unit tests (`test`) with the cairo-lang 2.9.0-dev.0 crates and an explicit corelib.

mod contracts;
mod corelib;
mod manifest;
mod profile;
mod tests;
mod unit;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "zkthread-cairo", version, about = "Cairo front-end for zkthreads (Sierra builds and Cairo tests)")]
struct Cli {
    /// Corelib `src` folder (or its parent). Default: $ZKTHREAD_CORELIB, scarb's, then
    /// $ZKTHREAD_CACHE_DIR/corelib/src.
    #[arg(long, global = true)]
    corelib: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile every starknet-contract package to target/dev/<package>_<Contract>.contract_class.json.
    Build {
        /// The workspace's root Scarb.toml.
        #[arg(long, default_value = "Scarb.toml")]
        manifest: PathBuf,
        /// Output folder (artifacts go to <target-dir>/dev). Default: next to the manifest.
        #[arg(long)]
        target_dir: Option<PathBuf>,
        /// Build only this package.
        #[arg(long)]
        package: Option<String>,
    },
    /// Run the `#[test]` functions of every package (or one).
    Test {
        #[arg(long, default_value = "Scarb.toml")]
        manifest: PathBuf,
        #[arg(long)]
        package: Option<String>,
        /// Run only tests whose full path contains this text.
        #[arg(long, default_value = "")]
        filter: String,
        /// Print each test's Cairo steps as a call tree of inclusive step counts (slower run).
        #[arg(long)]
        profile: bool,
        /// Call-tree levels to print under each test with --profile.
        #[arg(long, default_value_t = 4, requires = "profile")]
        profile_depth: usize,
        /// Hide call paths below this percentage of the test's steps with --profile.
        #[arg(long, default_value_t = 0.5, requires = "profile")]
        profile_min_percent: f64,
        /// With --profile, also list this many largest functions by CASM felts.
        #[arg(long, default_value_t = 0, requires = "profile")]
        profile_sizes: usize,
        /// With --profile, also list this many heaviest (function, libfunc) pairs by steps;
        /// `rc` marks libfuncs that consume range checks.
        #[arg(long, default_value_t = 0, requires = "profile")]
        profile_libfuncs: usize,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ZKTHREAD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,cairo_lang_lowering=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let corelib = match corelib::find_corelib(cli.corelib.as_deref()) {
        Ok((path, source)) => {
            tracing::info!(?source, path = %path.display(), "using corelib");
            path
        }
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    match run(cli.command, &corelib) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, corelib: &std::path::Path) -> Result<ExitCode> {
    match command {
        Command::Build { manifest, target_dir, package } => {
            let workspace = manifest::Workspace::load(&manifest)?;
            let target_dir = target_dir.unwrap_or_else(|| workspace.root.join("target"));
            let written =
                contracts::build_workspace(&workspace, corelib, &target_dir, package.as_deref())
                    .context("build failed")?;
            for path in written {
                println!("{}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Test {
            manifest, package, filter, profile, profile_depth, profile_min_percent, profile_sizes, profile_libfuncs,
        } => {
            let workspace = manifest::Workspace::load(&manifest)?;
            let profile = profile.then_some(profile::ProfileOptions {
                depth: profile_depth,
                min_percent: profile_min_percent,
                top_functions: profile_sizes,
                top_libfuncs: profile_libfuncs,
            });
            let tally =
                tests::test_workspace(&workspace, corelib, package.as_deref(), &filter, profile)?;
            let mut closing = format!("{} passed, {} failed", tally.passed, tally.failed);
            if tally.ignored > 0 {
                closing.push_str(&format!(", {} ignored", tally.ignored));
            }
            println!("{closing}");
            Ok(if tally.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}
