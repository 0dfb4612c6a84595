//! GPU correctness suite of the sparse MLP and the differential weight cache of family gemv
//! (harness = false): `Esmm::sparse_mlp` and `Esmm::cache_predict` / `cache_update` /
//! `cached_mlp_over` against an f64 CPU reference.
//!
//! Without a CUDA driver it prints `skipped: no CUDA driver` and exits 0. `--small`: the smallest
//! shapes only (for compute-sanitizer). `--seed N` (default 1).
//!
//! What is checked, per (kind: gated / ReLU / ReLU², shape, M, selection: all / threshold /
//! top-k), on weights drawn in f32 and rounded to bf16 (the reference uses the rounded values):
//! - the active list read back is strictly increasing and in range; for a threshold, every
//!   listed neuron has a reference score above `threshold − tol` for some token and every other
//!   neuron scores below `threshold + tol` for every token (tol covers the fp32 scores and the
//!   bf16 rounding of the predictor's hidden vector); for top-k, the union holds at least k and
//!   at most M·k neurons (plus ties), and for M = 1 exactly the neurons scoring ≥ the k-th score
//!   up to tol;
//! - y against the f64 MLP over the GPU's active list, with h rounded to bf16 as the kernels
//!   store it: |y − ref| ≤ 2e-2·(|ref| + 1e-2·max|ref|) + 2⁻⁸·|ref| (fp32 accumulation of ≤ 1100
//!   terms, one bf16 rounding of h and of y); y is poisoned (NaN) before every call and every
//!   element must be written;
//! - the weight cache over a sequence of tokens: the predicted list equals the sparse MLP's for
//!   the same x, an update loads exactly the active neurons that were not resident, evicts only
//!   neurons no longer active, moves `lists + loaded · record` bytes, and the cached MLP gives the
//!   same y as the reference over that list;
//! - errors: m = 0 and 17, a NaN threshold, top-k 0, a cache of 0 slots, more active neurons than
//!   slots, a repeated or out-of-range neuron: `Err`, never a panic.

use std::sync::Arc;

use esmm::cudarc::driver::{CudaSlice, CudaStream};
use esmm::{Esmm, MlpHostWeights, MlpKind, MlpSelect};
use esmm_tests::{run_cases, Case};
use half::bf16;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

struct Host {
    kind: MlpKind,
    h: usize,
    i: usize,
    r: usize,
    gate: Vec<bf16>,
    up: Vec<bf16>,
    down: Vec<bf16>,
    p_in: Vec<bf16>,
    p_out: Vec<bf16>,
}

impl Host {
    fn new(kind: MlpKind, h: usize, i: usize, r: usize, seed: u64) -> Host {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut draw = |n: usize, s: f32| (0..n).map(|_| bf16::from_f32(rng.random_range(-s..s))).collect::<Vec<_>>();
        Host { kind, h, i, r, gate: draw(h * i, 0.3), up: draw(h * i, 0.3), down: draw(i * h, 0.3), p_in: draw(h * r, 0.5), p_out: draw(r * i, 0.5) }
    }
    fn weights(&self) -> MlpHostWeights<'_, bf16> {
        MlpHostWeights {
            kind: self.kind,
            hidden: self.h,
            inter: self.i,
            rank: self.r,
            gate: (self.kind == MlpKind::Gated).then_some(&self.gate[..]),
            up: &self.up,
            down: &self.down,
            pred_in: &self.p_in,
            pred_out: &self.p_out,
        }
    }
    /// Reference scores (token-major), with the hidden vector rounded to bf16 as the GPU stores it.
    fn scores(&self, x: &[bf16], m: usize) -> Vec<f64> {
        let f = |v: bf16| f64::from(v.to_f32());
        let mut out = vec![0.0; m * self.i];
        for t in 0..m {
            let tv: Vec<f64> = (0..self.r).map(|c| f(bf16::from_f64((0..self.h).map(|k| f(x[t * self.h + k]) * f(self.p_in[k * self.r + c])).sum())) ).collect();
            for c in 0..self.i {
                out[t * self.i + c] = (0..self.r).map(|k| tv[k] * f(self.p_out[k * self.i + c])).sum();
            }
        }
        out
    }
    /// Reference y over `list`, h rounded to bf16.
    fn y(&self, x: &[bf16], m: usize, list: &[i32]) -> Vec<f64> {
        let f = |v: bf16| f64::from(v.to_f32());
        let mut y = vec![0.0; m * self.h];
        for t in 0..m {
            for &c in list {
                let c = c as usize;
                let dot = |w: &[bf16]| (0..self.h).map(|k| f(x[t * self.h + k]) * f(w[k * self.i + c])).sum::<f64>();
                let u = dot(&self.up);
                let hv = match self.kind {
                    MlpKind::Gated => {
                        let g = dot(&self.gate);
                        g / (1.0 + (-g).exp()) * u
                    }
                    MlpKind::Relu => u.max(0.0),
                    MlpKind::Relu2 => u.max(0.0).powi(2),
                };
                let hv = f(bf16::from_f64(hv));
                for o in 0..self.h {
                    y[t * self.h + o] += hv * f(self.down[c * self.h + o]);
                }
            }
        }
        y
    }
}

fn check_y(got: &[bf16], want: &[f64]) -> Result<(), String> {
    let scale = want.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    for (j, (g, w)) in got.iter().zip(want).enumerate() {
        let g = f64::from(g.to_f32());
        let tol = 2e-2 * (w.abs() + 1e-2 * scale) + w.abs() / 256.0;
        if !((g - w).abs() <= tol) {
            return Err(format!("y[{j}] = {g}, reference {w} (tol {tol:.3e})"));
        }
    }
    Ok(())
}

fn check_list(list: &[i32], host: &Host, scores: &[f64], m: usize, select: MlpSelect) -> Result<(), String> {
    if list.windows(2).any(|w| w[0] >= w[1]) || list.iter().any(|v| *v < 0 || *v as usize >= host.i) {
        return Err(format!("list not increasing or out of range: {:?}", &list[..list.len().min(20)]));
    }
    let tol = 0.05;
    let listed: std::collections::HashSet<i32> = list.iter().copied().collect();
    match select {
        MlpSelect::All => {
            if list.len() != host.i {
                return Err(format!("all: {} of {} listed", list.len(), host.i));
            }
        }
        MlpSelect::Threshold(th) => {
            let th = f64::from(th);
            for c in 0..host.i {
                let best = (0..m).map(|t| scores[t * host.i + c]).fold(f64::NEG_INFINITY, f64::max);
                let on = listed.contains(&(c as i32));
                if on && best < th - tol || !on && best > th + tol {
                    return Err(format!("neuron {c}: best score {best:.4}, threshold {th}, listed {on}"));
                }
            }
        }
        MlpSelect::TopK(k) => {
            if list.len() < k.min(host.i) || list.len() > (m * k).min(host.i) + 8 {
                return Err(format!("top-{k} over {m} tokens listed {}", list.len()));
            }
            if m == 1 {
                let mut s: Vec<f64> = scores[..host.i].to_vec();
                s.sort_by(|a, b| b.partial_cmp(a).expect("finite"));
                let kth = s[k - 1];
                for c in 0..host.i {
                    let on = listed.contains(&(c as i32));
                    if on && scores[c] < kth - tol || !on && scores[c] > kth + tol {
                        return Err(format!("neuron {c}: score {:.4}, k-th {kth:.4}, listed {on}", scores[c]));
                    }
                }
            }
        }
    }
    Ok(())
}

fn poison(stream: &Arc<CudaStream>, n: usize) -> Result<CudaSlice<bf16>, String> {
    stream.clone_htod(&vec![bf16::from_bits(0xffc1); n]).map_err(|e| e.to_string())
}

fn draw_x(m: usize, h: usize, seed: u64) -> Vec<bf16> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..m * h).map(|_| bf16::from_f32(if rng.random_bool(0.2) { 0.0 } else { rng.random_range(-1.0f32..1.0) })).collect()
}

fn mlp_case(esmm: &Esmm, host: &Host, m: usize, select: MlpSelect, seed: u64) -> Result<String, String> {
    let stream = esmm.context().new_stream().map_err(|e| e.to_string())?;
    let mlp = esmm.sparse_mlp_weights(&stream, &host.weights()).map_err(|e| e.to_string())?;
    let xh = draw_x(m, host.h, seed);
    let x = stream.clone_htod(&xh).map_err(|e| e.to_string())?;
    let mut y = poison(&stream, m * host.h + 37)?;
    let run = esmm.sparse_mlp(&stream, &x, &mlp, &mut y, m, select, true).map_err(|e| e.to_string())?;
    let list = run.active.ok_or("no active list read back")?;
    let got = stream.clone_dtoh(&y).map_err(|e| e.to_string())?;
    if got[m * host.h..].iter().any(|v| v.to_bits() != 0xffc1) {
        return Err("wrote past y".into());
    }
    let scores = host.scores(&xh, m);
    check_list(&list, host, &scores, m, select)?;
    check_y(&got[..m * host.h], &host.y(&xh, m, &list))?;
    // Same call again: the same list and bit-identical y.
    let mut y2 = poison(&stream, m * host.h)?;
    let run2 = esmm.sparse_mlp(&stream, &x, &mlp, &mut y2, m, select, true).map_err(|e| e.to_string())?;
    let got2 = stream.clone_dtoh(&y2).map_err(|e| e.to_string())?;
    if run2.active.as_deref() != Some(&list[..]) || got2[..] != got[..m * host.h] {
        return Err("a repeated call differs".into());
    }
    Ok(format!("{} active of {}", list.len(), host.i))
}

fn cache_case(esmm: &Esmm, host: &Host, capacity: usize, keep: usize, seed: u64) -> Result<String, String> {
    let stream = esmm.context().new_stream().map_err(|e| e.to_string())?;
    let w = host.weights();
    let mut cache = esmm.weight_cache(&stream, &w, capacity).map_err(|e| e.to_string())?;
    let mlp = esmm.sparse_mlp_weights(&stream, &w).map_err(|e| e.to_string())?;
    let mut resident: std::collections::HashSet<i32> = Default::default();
    let (mut loaded_total, mut tokens) = (0, 0);
    for t in 0..6u64 {
        let xh = draw_x(1, host.h, seed * 100 + t / 2); // pairs of equal tokens: the second loads nothing
        let x = stream.clone_htod(&xh).map_err(|e| e.to_string())?;
        let active = esmm.cache_predict(&stream, &x, &cache, 1, MlpSelect::TopK(keep)).map_err(|e| e.to_string())?;
        let mut y0 = poison(&stream, host.h)?;
        let want_list = esmm.sparse_mlp(&stream, &x, &mlp, &mut y0, 1, MlpSelect::TopK(keep), true).map_err(|e| e.to_string())?.active.unwrap_or_default();
        if active != want_list {
            return Err(format!("token {t}: cache_predict listed {} neurons, sparse_mlp {}", active.len(), want_list.len()));
        }
        let missing = active.iter().filter(|n| !resident.contains(n)).count();
        let u = esmm.cache_update(&stream, &mut cache, &active).map_err(|e| e.to_string())?;
        if u.loaded != missing || u.active != active.len() {
            return Err(format!("token {t}: loaded {} (expected {missing}), active {}", u.loaded, u.active));
        }
        if u.bytes != ((2 * capacity + 1) * 4).div_ceil(16) * 16 + u.loaded * cache.record_bytes() {
            return Err(format!("token {t}: {} bytes moved for {} loaded records of {} bytes", u.bytes, u.loaded, cache.record_bytes()));
        }
        if t % 2 == 1 && u.loaded != 0 {
            return Err(format!("token {t}: a repeated token loaded {}", u.loaded));
        }
        // Evictions take only neurons that are no longer active.
        let now: std::collections::HashSet<i32> = active.iter().copied().collect();
        if resident.len() + u.loaded > capacity {
            let free = capacity - resident.len().min(capacity);
            if u.evicted != u.loaded.saturating_sub(free) {
                return Err(format!("token {t}: evicted {} for {} loaded with {free} free slots", u.evicted, u.loaded));
            }
        }
        resident.extend(now.iter().copied());
        if resident.len() > capacity {
            // Which inactive ones went is the cache's choice; keep the active ones, trim the count.
            let extra = resident.len() - capacity;
            let drop: Vec<i32> = resident.iter().copied().filter(|n| !now.contains(n)).take(extra).collect();
            for d in drop {
                resident.remove(&d);
            }
        }
        let mut y = poison(&stream, host.h + 37)?;
        esmm.cached_mlp_over(&stream, &x, &cache, &mut y, 1).map_err(|e| e.to_string())?;
        let got = stream.clone_dtoh(&y).map_err(|e| e.to_string())?;
        check_y(&got[..host.h], &host.y(&xh, 1, &active)).map_err(|e| format!("token {t}: {e}"))?;
        if got[host.h..].iter().any(|v| v.to_bits() != 0xffc1) {
            return Err("wrote past y".into());
        }
        loaded_total += u.loaded;
        tokens += 1;
    }
    Ok(format!("{loaded_total} records loaded over {tokens} tokens"))
}

fn error_cases(esmm: &Esmm) -> Result<String, String> {
    let stream = esmm.context().new_stream().map_err(|e| e.to_string())?;
    let host = Host::new(MlpKind::Gated, 16, 40, 4, 9);
    let mlp = esmm.sparse_mlp_weights(&stream, &host.weights()).map_err(|e| e.to_string())?;
    let x = stream.clone_htod(&draw_x(16, 16, 1)).map_err(|e| e.to_string())?;
    let mut y = poison(&stream, 17 * 16)?;
    for (what, r) in [
        ("m = 0", esmm.sparse_mlp(&stream, &x, &mlp, &mut y, 0, MlpSelect::All, false).map(|_| ())),
        ("m = 17", esmm.sparse_mlp(&stream, &x, &mlp, &mut y, 17, MlpSelect::All, false).map(|_| ())),
        ("NaN threshold", esmm.sparse_mlp(&stream, &x, &mlp, &mut y, 1, MlpSelect::Threshold(f32::NAN), false).map(|_| ())),
        ("top-0", esmm.sparse_mlp(&stream, &x, &mlp, &mut y, 1, MlpSelect::TopK(0), false).map(|_| ())),
        ("cache of 0 slots", esmm.weight_cache(&stream, &host.weights(), 0).map(|_| ())),
    ] {
        if r.is_ok() {
            return Err(format!("{what}: accepted"));
        }
    }
    let mut cache = esmm.weight_cache(&stream, &host.weights(), 4).map_err(|e| e.to_string())?;
    for (what, list) in [("5 active for 4 slots", vec![0, 1, 2, 3, 4]), ("repeated", vec![1, 1]), ("out of range", vec![40]), ("negative", vec![-1])] {
        if esmm.cache_update(&stream, &mut cache, &list).is_ok() {
            return Err(format!("{what}: accepted"));
        }
    }
    Ok("7 refusals".into())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let small = args.iter().any(|a| a == "--small");
    let seed: u64 = args.iter().position(|a| a == "--seed").and_then(|i| args.get(i + 1)).and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut shapes = vec![(16usize, 40usize, 4usize), (37, 101, 7)];
    if !small {
        shapes.push((256, 1000, 32));
        shapes.push((4096, 11008, 256));
    }
    let mut cases: Vec<Case> = Vec::new();
    for (si, &(h, i, r)) in shapes.iter().enumerate() {
        for kind in [MlpKind::Gated, MlpKind::Relu, MlpKind::Relu2] {
            if h >= 4096 && kind != MlpKind::Gated {
                continue;
            }
            let hseed = seed * 1000 + si as u64 * 10 + kind as u64;
            for m in [1usize, 3, 16] {
                if h >= 4096 && m == 3 {
                    continue;
                }
                for select in [MlpSelect::All, MlpSelect::Threshold(0.0), MlpSelect::TopK((i / 10).max(1))] {
                    let name = format!("mlp {kind:?} {h}x{i} r{r} M={m} {select:?}");
                    cases.push(Case { name, run: Box::new(move |e: &Esmm| mlp_case(e, &Host::new(kind, h, i, r, hseed), m, select, hseed + m as u64)) });
                }
            }
            if h < 4096 {
                let name = format!("cache {kind:?} {h}x{i} r{r}");
                cases.push(Case { name, run: Box::new(move |e: &Esmm| cache_case(e, &Host::new(kind, h, i, r, hseed), (i * 3 / 10).max(2), (i / 10).max(1), hseed)) });
            }
        }
    }
    cases.push(Case { name: "errors".into(), run: Box::new(error_cases) });
    if !esmm::driver_present() {
        println!("skipped: no CUDA driver");
        println!("0 passed, 0 failed, {} skipped", cases.len());
        return;
    }
    let esmm = match Esmm::new(0) {
        Ok(e) => e,
        Err(e) => {
            println!("FAIL open GPU 0: {e}");
            std::process::exit(1);
        }
    };
    println!("gpu_mlp: {} cases, seed {seed}{}", cases.len(), if small { ", small" } else { "" });
    let (p, f) = run_cases(&esmm, &cases, std::time::Duration::from_secs(300));
    println!("{p} passed, {f} failed, 0 skipped");
    if f > 0 {
        std::process::exit(1);
    }
}
