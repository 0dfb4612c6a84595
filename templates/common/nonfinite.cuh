{# The NaN/Inf contract of sparse kernels: non_finite(v), and note_nonfinite(ctrl, epoch), which records in ctrl[2] that this call's inputs hold an Inf or NaN (docs/ARCHITECTURE.md, kernel ABI). -#}
// Whether a float is Inf or NaN (exponent all ones).
__device__ __forceinline__ bool non_finite(float v)
{
    return (__float_as_uint(v) & 0x7f800000u) == 0x7f800000u;
}

// Records, for this call's `epoch`, that an input holds a non-finite value (ctrl[2]; every writer
// of a call writes the same value, so a plain store suffices).
__device__ __forceinline__ void note_nonfinite(unsigned* ctrl, unsigned epoch)
{
    *(volatile unsigned*)(ctrl + 2) = epoch;
}
