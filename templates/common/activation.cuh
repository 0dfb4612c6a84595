{# The epilogue activation: activate(x) per the includer's constexpr int ACTIVATION (0 none, 1 relu, 2 relu^2, as in esmm_spec::Activation). -#}
__device__ __forceinline__ float activate(float x)
{
    if constexpr (ACTIVATION == 1) {
        return fmaxf(x, 0.0f);
    } else if constexpr (ACTIVATION == 2) {
        const float r = fmaxf(x, 0.0f);
        return r * r;
    } else {
        return x;
    }
}
