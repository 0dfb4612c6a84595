//! Cross-crate integration tests for esmm: the GPU suites `gpu_suite.rs` (family esmm) and
//! `gpu_tc.rs` (family tc), and the cuBLAS/cuBLASLt baseline tests `gpu_baselines.rs`. This
//! library holds what the suites share: a named case, the runner that executes cases one by
//! one under a watchdog, and the host side of the element types (`host`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use esmm::Esmm;

pub mod host;
pub use host::{round_to, HostElem};

/// What a case runs: `Ok(detail)` or `Err(why)`.
pub type CaseFn<'a> = Box<dyn Fn(&Esmm) -> Result<String, String> + Sync + 'a>;

/// A named test case.
pub struct Case<'a> {
    /// Printed on its `ok` / `FAIL` line.
    pub name: String,
    /// The check.
    pub run: CaseFn<'a>,
}

/// The case being run and since when (read by the watchdog).
static CURRENT: Mutex<Option<(String, Instant)>> = Mutex::new(None);

fn locked<T: Copy>(m: &Mutex<T>) -> T {
    *m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `cases` in order on `esmm`, printing `ok NAME detail (ms)` or `FAIL NAME: why (ms)` per
/// case (a panic is a failure); a case still running after `timeout` is a HANG: the watchdog
/// prints the counts and exits 1. Returns (passed, failed).
pub fn run_cases(esmm: &Esmm, cases: &[Case<'_>], timeout: Duration) -> (usize, usize) {
    let (passed, failed) = (Arc::new(Mutex::new(0usize)), Arc::new(Mutex::new(0usize)));
    {
        let (passed, failed) = (passed.clone(), failed.clone());
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            let cur = CURRENT.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some((name, since)) = cur {
                if since.elapsed() > timeout {
                    println!("FAIL {name}: HANG (no result after {} s; watchdog abort)", timeout.as_secs());
                    println!("{} passed, {} failed, 0 skipped", locked(&passed), locked(&failed) + 1);
                    std::process::exit(1);
                }
            }
        });
    }
    for case in cases {
        *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = Some((case.name.clone(), Instant::now()));
        let t = Instant::now();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (case.run)(esmm)))
            .unwrap_or_else(|p| Err(format!("panicked: {}", panic_text(&p))));
        let ms = t.elapsed().as_secs_f64() * 1e3;
        *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = None;
        match r {
            Ok(detail) => {
                *passed.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                println!("ok   {} {detail} ({ms:.0} ms)", case.name);
            }
            Err(msg) => {
                *failed.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                println!("FAIL {}: {msg} ({ms:.0} ms)", case.name);
            }
        }
    }
    (locked(&passed), locked(&failed))
}

/// The message of a caught panic.
pub fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default()
}
