//! The `esmm-codegen` command line: list, emit, show, check and explain kernel variants of
//! every family (or of one, with `--family`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use esmm_codegen::emit::{self, default_generated_dir};
use esmm_codegen::sets::SetName;
use esmm_codegen::spec_arg::{glob_match, override_help, resolve_spec};
use esmm_codegen::{key_params, presets, validate};
use esmm_spec::Family;

/// Generator of the esmm project's CUDA kernels (family esmm: block-sparse GEMM).
///
/// Every variant is a point of a typed space with a procedural name
/// (e.g. esmm_ab_f32_64x128x8_w64x32x2_t1x8_g64x32_fused_branch_none). Presets k10, k17, k20,
/// k21, k25, k28, k30 are the seed kernels.
#[derive(Parser)]
#[command(name = "esmm-codegen", version, about, long_about)]
struct Cli {
    /// Only this kernel family (e.g. esmm) [default: every family].
    #[arg(long, global = true, value_name = "NAME", value_parser = Family::parse)]
    family: Option<Family>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the variants of a set, one per line with key parameters (invalid ones with a reason).
    List {
        /// Which set.
        #[arg(long, value_enum, default_value = "shipped")]
        set: SetName,
        /// Only names matching this glob (`*` and `?`), e.g. 'esmm_ab_*fused*'.
        #[arg(long)]
        filter: Option<String>,
        /// Hide invalid candidates (only `all` has any).
        #[arg(long)]
        valid_only: bool,
    },
    /// Write <family>/<name>.cu for every valid variant of a set, plus registry.rs; removes stale .cu files.
    Emit {
        /// Which set.
        #[arg(long, value_enum, default_value = "shipped")]
        set: SetName,
        /// Output directory [default: the workspace's generated/].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the rendered .cu of one variant (with its header).
    Show {
        /// A variant name (esmm_...), a preset (k25), optionally with overrides (k25:bm=128).
        spec: String,
    },
    /// Exit non-zero, naming the files, when a directory differs from what `emit` would write.
    Check {
        /// Which set.
        #[arg(long, value_enum, default_value = "shipped")]
        set: SetName,
        /// Directory to check [default: the workspace's generated/].
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Say whether a spec is valid and list every reason it is not.
    #[command(after_help = override_help(None))]
    Explain {
        /// A variant name (esmm_...), a preset (k25), optionally with `:key=value,...`
        /// overrides, e.g. k25:bm=96,skip=branchless.
        spec: String,
    },
}

/// Exit status for bad input.
const BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err((code, msg)) => {
            eprintln!("esmm-codegen: {msg}");
            ExitCode::from(code)
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Runs one command; `Err` carries the exit status and the message.
fn run(cli: Cli) -> Result<ExitCode, (u8, String)> {
    let family = cli.family;
    match cli.command {
        Command::List {
            set,
            filter,
            valid_only,
        } => {
            let (mut valid, mut invalid) = (0, 0);
            let mut text = String::new();
            for spec in set.specs_of(family) {
                let name = spec.name();
                if filter.as_deref().is_some_and(|g| !glob_match(g, &name)) {
                    continue;
                }
                match validate(&spec) {
                    Ok(v) => {
                        valid += 1;
                        text += &format!("{name}  {}\n", key_params(&v));
                    }
                    Err(why) if !valid_only => {
                        invalid += 1;
                        let more = if why.len() > 1 {
                            format!(" (+{} more)", why.len() - 1)
                        } else {
                            String::new()
                        };
                        text += &format!("{name}  INVALID: {}{more}\n", why[0]);
                    }
                    Err(_) => {}
                }
            }
            print_stdout(&text);
            eprintln!(
                "{} variants: {valid} valid, {invalid} invalid",
                valid + invalid
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Emit { set, out } => {
            let out = out.unwrap_or_else(default_generated_dir);
            let s = emit::emit(set, family, &out).map_err(|e| (1, e))?;
            eprintln!(
                "emitted set {} into {}: {} written, {} unchanged, {} stale removed",
                set.as_str(),
                out.display(),
                s.written,
                s.unchanged,
                s.removed.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { spec } => {
            let spec = resolve_spec(&spec, family).map_err(|e| (BAD_INPUT, e))?;
            let valid = validate(&spec).map_err(|why| {
                (BAD_INPUT, format!("{} is invalid:\n  {}", spec.name(), why.join("\n  ")))
            })?;
            let command = format!("esmm-codegen show {}", spec.name());
            let text = emit::cu_file(&valid, &command)
                .map_err(|e| (1, format!("{}: render failed: {e}", spec.name())))?;
            print_stdout(&text);
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { set, dir } => {
            let dir = dir.unwrap_or_else(default_generated_dir);
            let report = emit::check(set, family, &dir).map_err(|e| (1, e))?;
            if report.is_clean() {
                eprintln!("{} is up to date with set {}", dir.display(), set.as_str());
                return Ok(ExitCode::SUCCESS);
            }
            print_stdout(
                &report
                    .lines()
                    .iter()
                    .map(|l| format!("{l}\n"))
                    .collect::<String>(),
            );
            Err((
                1,
                format!(
                    "{} is stale; run `{}` (with --out {0} if not the default)",
                    dir.display(),
                    emit::emit_command(set)
                ),
            ))
        }
        Command::Explain { spec: arg } => {
            let spec = resolve_spec(&arg, family).map_err(|e| (BAD_INPUT, e))?;
            let preset = presets::presets(family).into_iter().find(|p| p.spec == spec);
            let mut text = format!("{}\n", spec.name());
            if let Some(p) = preset {
                text += &format!("  preset {}: {}\n", p.name, p.description);
            }
            let verdict = validate(&spec);
            match &verdict {
                Ok(v) => text += &format!("  valid: {}\n", key_params(v)),
                Err(why) => {
                    let plural = if why.len() == 1 { "" } else { "s" };
                    text += &format!("  INVALID ({} reason{plural}):\n", why.len());
                    for w in why {
                        text += &format!("  - {w}\n");
                    }
                }
            }
            print_stdout(&text);
            Ok(if verdict.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
