{# Index helpers of the bit-per-k pattern layout (32 k per word): ceil_div, and valid_bits (the bits of word w that belong to k < K). Shared by every family that reads patterns. -#}
__device__ __forceinline__ int ceil_div(int a, int b) { return (a + b - 1) / b; }

// Bits of pattern word w that belong to k < K.
__device__ __forceinline__ unsigned valid_bits(int K, int w)
{
    const int left = K - w * 32;
    return left >= 32 ? 0xffffffffu : (left <= 0 ? 0u : ((1u << left) - 1u));
}
