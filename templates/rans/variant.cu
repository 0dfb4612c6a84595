{#
  Family rans: one translation unit per variant (codegen/src/families/rans/render.rs fills the
  context). The variant's parameters become the members of struct RansCfg; the device code is
  templates/rans/rans.cuh. The entry points' parameter lists come from the ABI data
  (esmm_spec::families::rans).
-#}
// {{ name }}
// {{ summary }}
// Kernel ABI: docs/ARCHITECTURE.md. Design: templates/rans/rans.cuh and docs/CODEC.md.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace {{ name }} {

// ---- variant parameters ----------------------------------------------------------------------
struct RansCfg {
    using In = {{ in_type }};              // element type of x
    using Out = {{ out_type }};            // element type of y
    static constexpr int KIND = {{ kind }};         // {{ kind_tag }}: 1 fused rANS GEMV, 2 plain INT8 GEMV (the decode stage ignores it)
    static constexpr int LANES = {{ lanes }};       // interleaved rANS states per tile (S = LANES / 32 per thread)
    static constexpr int TILE_N = {{ tile_n }};     // columns per tile of the container
    static constexpr int MT = {{ mt }};             // token bucket: accumulators per column (M <= MT)
    static constexpr int VEC = {{ vec }};           // INT8 GEMV: bytes per lane per row
    static constexpr int WARPS = {{ warps }};
    static constexpr int THREADS = {{ threads }};
    static constexpr int XS_BYTES = {{ xs_bytes }}; // staged-x budget (bytes)
};

{% include "rans/rans.cuh" %}
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
