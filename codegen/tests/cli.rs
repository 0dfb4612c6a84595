//! The `esmm-codegen` binary: verdicts, listings and error handling (no templates needed).

use std::process::{Command, Output};

fn codegen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_esmm-codegen"))
        .args(args)
        .output()
        .expect("run esmm-codegen")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn explain_rejects_an_invalid_spec_with_reasons() {
    let out = codegen(&["explain", "k25:bm=96,bk=12"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("INVALID (2 reasons)"), "{stdout}");
    assert!(
        stdout.contains("bm=96 is not a multiple of the warp tile wm=64"),
        "{stdout}"
    );
    assert!(stdout.contains("bk=12 does not divide 32"), "{stdout}");
}

#[test]
fn explain_accepts_presets_and_names() {
    for arg in [
        "k25",
        "K28",
        "esmm_ab_f32_64x128x8_w64x32x2_t1x8_g64x32_fused_branch_none",
    ] {
        let out = codegen(&["explain", arg]);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{arg}: {stdout}{}",
            text(&out.stderr)
        );
        assert!(stdout.contains("valid:"), "{stdout}");
    }
}

#[test]
fn bad_input_exits_2_without_panicking() {
    for args in [
        &["explain", "k99"][..],
        &["explain", "k25:bm=x"],
        &["explain", "esmm_ab_f32_bogus"],
        &["show", "nonsense"],
        &["show", "k25:dtype=f16"],
        &["list", "--set", "bogus"],
        &["frobnicate"],
    ] {
        let out = codegen(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.trim().is_empty(), "{args:?}: no message");
    }
}

#[test]
fn list_sweep_shows_at_least_200_valid_variants() {
    let out = codegen(&["list", "--set", "sweep"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 200, "{} lines", lines.len());
    assert!(lines
        .iter()
        .all(|l| l.starts_with("esmm_") && l.contains("threads=") && !l.contains("INVALID")));
}

#[test]
fn list_all_shows_invalid_candidates_with_reasons_and_filters() {
    let out = codegen(&["list", "--set", "all", "--filter", "esmm_*_f16_*"]);
    let stdout = text(&out.stdout);
    assert!(!stdout.is_empty());
    for line in stdout.lines() {
        assert!(
            line.contains("_f16_")
                && line.contains("INVALID: dtype f16 has no tensor-core template yet"),
            "{line}"
        );
    }
    let valid_only = codegen(&["list", "--set", "all", "--valid-only"]);
    assert!(!text(&valid_only.stdout).contains("INVALID"));
}
