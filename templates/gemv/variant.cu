{#
  Family gemv: one translation unit per variant (codegen/src/families/gemv/render.rs fills the
  context). The variant's parameters become the members of struct GemvCfg; the device code is
  templates/gemv/gemv.cuh (and, for output-list variants, the select and scatter stages of
  templates/gemv/select.cuh). The entry points' parameter lists come from the ABI data
  (esmm_spec::families::gemv).
-#}
// {{ name }}
// {{ summary }}
// Kernel ABI: docs/ARCHITECTURE.md. Design: templates/gemv/gemv.cuh and docs/KERNELS.md.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace {{ name }} {

// ---- variant parameters ----------------------------------------------------------------------
struct GemvCfg {
    using In = {{ in_type }};              // element type of x and W
    using Out = {{ out_type }};            // element type of y
    static constexpr int LAYOUT = {{ layout }};     // 0 kn (W is K x N), 1 nk (W is N x K)
    static constexpr int SPARSITY = {{ sparsity }}; // 0 dense, 1 input, 2 row list, 3 output list
    static constexpr int EPI = {{ epi }};           // 0 none, 1 relu, 2 relu^2, 3 gated SiLU(gate) * up
    static constexpr int CW = {{ block }};          // kn: groups of 64 columns per CTA
    static constexpr int RW = {{ block }};          // nk: groups of 8 rows per CTA
    static constexpr int KW = {{ kw }};             // warps per group (interleaved k steps)
    static constexpr int UNROLL = {{ unroll }};     // steps in flight per warp
    static constexpr int CACHE = {{ cache }};       // weight loads: 0 nc, 1 no-L1 + L2 prefetch, 2 evict-first
    static constexpr int THREADS = {{ threads }};
};

{% include "gemv/gemv.cuh" %}
{% if select %}
{% include "gemv/select.cuh" %}
{% endif %}
}  // namespace {{ name }}

// ---- entry points (ABI) ------------------------------------------------------------------------
{% for e in entries %}
extern "C" __global__ void __launch_bounds__({{ e.bounds }})
{{ name }}_{{ e.suffix }}({{ e.signature }})
{
    using namespace {{ name }};
    {{ e.body }};
}
{% endfor %}
