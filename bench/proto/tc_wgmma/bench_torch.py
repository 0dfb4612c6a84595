# torch.matmul reference times (cuBLAS) for the shapes the harness times: CUDA events, warm-up,
# median of 30. bf16 and tf32 (allow_tf32 on f32 tensors).
import torch
torch.backends.cuda.matmul.allow_tf32 = True
def t(M, N, K, dt, reps=30):
    a = torch.rand(M, K, device="cuda", dtype=torch.float32).mul_(2).sub_(1).to(dt)
    b = torch.rand(K, N, device="cuda", dtype=torch.float32).mul_(2).sub_(1).to(dt)
    for _ in range(5):
        torch.matmul(a, b)
    ts = []
    for _ in range(reps):
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record(); torch.matmul(a, b); e1.record(); e1.synchronize()
        ts.append(e0.elapsed_time(e1))
    ts.sort()
    ms = ts[len(ts) // 2]
    print(f"torch {str(dt):15s} {M:5d}x{N:5d}x{K:5d} {ms:9.4f} ms {2*M*N*K/ms/1e9:8.1f} TFLOP/s", flush=True)
for s in [(4096, 4096, 4096), (8192, 8192, 8192), (2048, 11008, 4096)]:
    t(*s, torch.bfloat16)
t(4096, 4096, 4096, torch.float32)
