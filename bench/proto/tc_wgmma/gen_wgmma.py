#!/usr/bin/env python3
"""Regenerates the wgmma instruction wrappers inside templates/tc/wgmma.cuh (between the
BEGIN/END GENERATED markers): one function per n (64, 128, 192, 256), each holding the bf16, f16
and tf32 forms of `wgmma.mma_async m64nNk{16,8}` with both operands K-major in shared memory.
The emitted text avoids askama's delimiters (no brace-percent, no doubled braces)."""
import pathlib
import re
import sys

NS = [64, 128, 192, 256]
FORMS = [
    (0, "k16.f32.bf16.bf16", ", 1, 1, 0, 0"),
    (1, "k16.f32.f16.f16", ", 1, 1, 0, 0"),
    (2, "k8.f32.tf32.tf32", ", 1, 1"),
]


def wrapper(n: int, pred: bool = False) -> str:
    regs = n // 2
    dlist = ", ".join(f"%{i}" for i in range(regs))
    outs = ", ".join(f'"+f"(d[{i}])' for i in range(regs))
    lines = [
        f"// d (m64 x n{n} fp32 fragment) += A(desc a) * B(desc b)^T, both K-major, 128-byte swizzle.",
        "template <int TY>",
        (f"__device__ __forceinline__ void tcw_wgmma_n{n}_if(float (&d)[{regs}], uint64_t a, uint64_t b, unsigned on)"
         if pred else f"__device__ __forceinline__ void tcw_wgmma_n{n}(float (&d)[{regs}], uint64_t a, uint64_t b)"),
        "{",
    ]
    for i, (ty, suffix, tail) in enumerate(FORMS):
        kw = "if constexpr" if i == 0 else "} else if constexpr"
        lines.append(f"    {kw} (TY == {ty}) {{")
        lines.append("        asm volatile(")
        if pred:
            lines.append(f'            "{{ .reg .pred p, q; setp.ne.b32 p, %{regs + 2}, 0; setp.ne.b32 q, %{regs + 3}, 0; "')
            lines.append(f'            "@q wgmma.mma_async.sync.aligned.m64n{n}{suffix} "')
        else:
            lines.append(f'            "{{ .reg .pred p; setp.ne.b32 p, %{regs + 2}, 0; "')
            lines.append(f'            "wgmma.mma_async.sync.aligned.m64n{n}{suffix} "')
        lines.append(f'            "{{ {dlist} }}, "')
        lines.append(f'            "%{regs}, %{regs + 1}, p{tail}; }}\\n"')
        lines.append(f"            : {outs}")
        lines.append('            : "l"(a), "l"(b), "r"(1)' + (', "r"(on));' if pred else ');'))
    lines.append("    }")
    lines.append("}")
    return "\n".join(lines)


def block() -> str:
    parts = [wrapper(n) for n in NS]
    disp = [
        "// Dispatch on n (the chunk width) at compile time.",
        "template <int N, int TY>",
        "__device__ __forceinline__ void tcw_wgmma(float (&d)[N / 2], uint64_t a, uint64_t b)",
        "{",
    ]
    for i, n in enumerate(NS):
        kw = "if constexpr" if i == 0 else "} else if constexpr"
        disp.append(f"    {kw} (N == {n}) {{")
        disp.append(f"        tcw_wgmma_n{n}<TY>(d, a, b);")
    disp.append("    } else {")
    disp.append('        static_assert(N == 64, "wgmma chunk width must be 64, 128, 192 or 256");')
    disp.append("    }")
    disp.append("}")
    parts.append("\n".join(disp))

    return "\n\n".join(parts) + "\n"


def main() -> None:
    path = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "templates/tc/wgmma.cuh")
    text = path.read_text()
    begin = "// BEGIN GENERATED wgmma wrappers (bench/proto/tc_wgmma/gen_wgmma.py)\n"
    end = "// END GENERATED wgmma wrappers\n"
    i, j = text.index(begin) + len(begin), text.index(end)
    text = text[:i] + block() + text[j:]
    for bad in ("{{", "}}", "{%", "%}", "{#", "#}"):
        for m in re.finditer(re.escape(bad), text):
            line = text.count("\n", 0, m.start()) + 1
            sys.exit(f"askama delimiter {bad!r} at line {line}")
    path.write_text(text)


if __name__ == "__main__":
    main()
