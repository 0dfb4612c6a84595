{# Tile rasterisation: tile_coords maps a linear tile index to (tile row, tile column), GROUP_M tile rows at a time (the includer defines constexpr int GROUP_M). -#}
// Tile index -> (tile row, tile column), grouped GROUP_M tile rows at a time so that CTAs that
// run together share rows of A and columns of B in L2.
__device__ __forceinline__ void tile_coords(int t, int tiles_m, int tiles_n, int& tile_m, int& tile_n)
{
    const int per_group = GROUP_M * tiles_n;
    const int group = t / per_group;
    const int first_m = group * GROUP_M;
    const int rows = min(tiles_m - first_m, GROUP_M);
    const int in_group = t - group * per_group;
    tile_m = first_m + in_group % rows;
    tile_n = in_group / rows;
}
