{# Grid-wide barrier for cooperative launches (two control words; reusable across launches without resetting). -#}
// ---- grid-wide barrier (grid_barrier.cuh) ---------------------------------------------------------
// Only a cooperative launch (all CTAs resident) may call it. State: bar[0] = arrivals,
// bar[1] = generation. The last CTA to arrive resets the count before it bumps the generation,
// so the zero-initialised state is valid again for the next launch (the generation just grows).
__device__ __forceinline__ void grid_barrier(unsigned* bar)
{
    __syncthreads();
    if (threadIdx.x == 0) {
        volatile unsigned* generation = bar + 1;
        const unsigned seen = *generation;
        __threadfence();   // this CTA's writes (and the read above) before the arrival
        const unsigned arrived = atomicAdd(bar, 1u);
        if (arrived == gridDim.x - 1) {
            atomicExch(bar, 0u);
            __threadfence();
            atomicAdd(bar + 1, 1u);
        } else {
            while (*generation == seen) __nanosleep(40);
        }
        __threadfence();   // everyone's writes before this CTA reads them
    }
    __syncthreads();
}
