#!/usr/bin/env python3
"""Instructions per decoded weight of family rans, measured in SASS (issue 10's "arithmetic").

Compiles generated rans variants for one SASS target with nvcc -cubin, disassembles them with
cuobjdump and finds the fast-path row loop of the fused GEMV kernel (the shortest loop with one
VOTE per state and round of a tile row). Prints per variant the loop's instruction count, its
steady state (without the ring refill the compiler wraps in BSSY ... BSYNC, taken once per 256
words) and that per decoded weight (a row gives each thread tile_n / 32 weights). Then, per GPU
of a table: the issue-bound decode rate of that count, and the rate at the measured cost
(--effective thread-instruction slots per weight; 40 = the H200's 0.83 T weights/s, where
latency and tile setup take the rest), against INT8 at full memory bandwidth:
  rate = SMs x 4 schedulers x 32 lanes x clock / (instructions per weight) weights/s.
Usage: scripts/rans-sass.py [--arch sm_90] [--nvcc PATH] [--cuobjdump PATH] [variant ...]
(default variants: the bf16 ans ones at M = 1, 4, 16). Needs nvcc and cuobjdump only, no GPU.
"""
import argparse, os, re, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GPUS = [  # name, SMs, boost clock GHz, memory bandwidth GB/s (published specifications)
    ("H200", 132, 1.98, 4800), ("H100 SXM", 132, 1.98, 3350), ("A100 80GB", 108, 1.41, 2039),
    ("RTX 3090", 82, 1.695, 936), ("RTX 4090", 128, 2.52, 1008), ("RTX 5090", 170, 2.41, 1792),
]


def loop_of(sass, votes_per_row):
    """The row loop: the shortest loop with one VOTE per state and round of a tile row.
    Returns (all its instructions, the steady state: without the divergent ring refill, which
    the compiler wraps in BSSY ... BSYNC and runs once per 256 words)."""
    ins = []
    for line in sass.splitlines():
        m = re.match(r"\s*/\*([0-9a-f]{4,})\*/\s+(.*?);", line)
        if m:
            ins.append((int(m.group(1), 16), m.group(2).strip()))
    loops = []
    for addr, text in ins:
        m = re.search(r"BRA (0x[0-9a-f]+)", text)
        if m and int(m.group(1), 16) < addr:
            lo = int(m.group(1), 16)
            body = [t for a, t in ins if lo <= a <= addr]
            loops.append((lo, addr, len(body), sum("VOTE" in t for t in body)))
    rows = [l for l in loops if l[3] == votes_per_row]
    if not rows:
        return None
    lo, hi, n, _ = min(rows, key=lambda l: l[2])
    skip = []  # [BSSY, its reconvergence point) regions without a VOTE: the refill
    for a, t in ins:
        m = re.match(r"BSSY B\d+, (0x[0-9a-f]+)", t)
        if lo <= a <= hi and m:
            end = int(m.group(1), 16)
            if not any("VOTE" in u for b, u in ins if a <= b < end):
                skip.append((a, end))
    steady = sum(1 for a, _ in ins if lo <= a <= hi and not any(x <= a < y for x, y in skip))
    return n, steady


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="sm_90")
    ap.add_argument("--nvcc", default=os.environ.get("NVCC") or shutil.which("nvcc") or "nvcc")
    ap.add_argument("--cuobjdump", default=None)
    ap.add_argument("--effective", type=float, default=40.0, help="measured thread-instruction slots per weight (H200: 40)")
    ap.add_argument("variants", nargs="*")
    a = ap.parse_args()
    cuobjdump = a.cuobjdump or os.path.join(os.path.dirname(a.nvcc), "cuobjdump")
    if not os.path.exists(cuobjdump):
        cuobjdump = shutil.which("cuobjdump") or "cuobjdump"
    names = a.variants or [f"rans_bf16_ans_obf16_l{l}_n{n}_m{m}_w8_none" for m in (1, 4, 16) for (l, n) in ((32, 256), (64, 256), (32, 128))]
    print(f"{'variant':<44} {'loop':>5} {'steady':>7} {'w/thread':>8} {'instr/weight':>12}")
    per_weight = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            src = os.path.join(ROOT, "generated", "rans", name + ".cu")
            cubin = os.path.join(tmp, name + ".cubin")
            subprocess.run([a.nvcc, "-cubin", "-O3", f"-arch={a.arch}", "-std=c++17", "-w", "-I", os.path.dirname(src), "-o", cubin, src], check=True)
            sass = subprocess.run([cuobjdump, "-sass", cubin], capture_output=True, text=True, check=True).stdout
            # the fused GEMV kernel only (the decode stage has its own loop)
            parts = re.split(r"\n\s*Function : ", sass)
            gemm = next((p for p in parts if "_gemm" in p.split("\n", 1)[0]), None)
            if gemm is None:
                print(f"{name}: no _gemm kernel in the cubin", file=sys.stderr)
                continue
            tile_n = int(re.search(r"_n(\d+)_", name).group(1))
            w = tile_n // 32  # weights per thread per tile row = VOTEs per row
            found = loop_of(gemm, w)
            if not found:
                print(f"{name}: no row loop with {w} VOTEs found", file=sys.stderr)
                continue
            n, steady = found
            per_weight[name] = steady / w
            print(f"{name:<44} {n:>5} {steady:>7} {w:>8} {steady / w:>12.2f}")
    if not per_weight:
        return 1
    ref = "rans_bf16_ans_obf16_l64_n256_m1_w8_none"
    static = per_weight.get(ref, min(per_weight.values()))
    eff = a.effective
    bits = 4.3  # stored bits per weight of the synthetic LLM-like weights (bench/results, rans.csv)
    print(f"\nissue-bound decode rate of the {static:.2f}-instruction loop ({ref}) and the rate at {eff:g}")
    print("thread-instruction slots per weight (measured on the H200: 0.83 T weights/s standalone decode),")
    print(f"against INT8 at full bandwidth (1 byte/weight); rANS at {bits} bits/weight caps the gain at {8 / bits:.2f}x")
    print(f"{'GPU':<10} {'fp32 ops/B':>10} {'issue-bound Tw/s':>16} {'measured-rate Tw/s':>18} {'INT8 Tw/s':>9} {'rANS/INT8':>9}")
    for gpu, sms, ghz, bw in GPUS:
        # every warp instruction advances 32 threads; a thread decodes 1 weight per n instructions
        issue = sms * 4 * ghz * 1e9 * 32 / static / 1e12
        rate = sms * 4 * ghz * 1e9 * 32 / eff / 1e12
        int8 = bw / 1000
        gain = min(rate, int8 * 8 / bits) / int8
        ops = 2 * sms * 128 * ghz / bw  # FMA = 2 operations, 128 fp32 lanes per SM
        print(f"{gpu:<10} {ops:>10.1f} {issue:>16.2f} {rate:>18.2f} {int8:>9.2f} {gain:>8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
