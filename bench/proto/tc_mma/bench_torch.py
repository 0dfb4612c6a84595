import torch
def med(f, n=50):
    for _ in range(5): f()
    torch.cuda.synchronize()
    ts = []
    for _ in range(n):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); f(); b.record(); b.synchronize(); ts.append(a.elapsed_time(b))
    ts.sort(); return ts[len(ts) // 2]
S = 4096
x = torch.rand(S, S, device='cuda', dtype=torch.bfloat16) * 2 - 1
y = torch.rand(S, S, device='cuda', dtype=torch.bfloat16) * 2 - 1
t = med(lambda: torch.matmul(x, y))
print(f"torch bf16 {S}^3: {t:.4f} ms  {2*S**3/t/1e9:.1f} TFLOP/s")
torch.backends.cuda.matmul.allow_tf32 = True
xf, yf = x.float(), y.float()
t = med(lambda: torch.matmul(xf, yf))
print(f"torch tf32 {S}^3: {t:.4f} ms  {2*S**3/t/1e9:.1f} TFLOP/s")
torch.backends.cuda.matmul.allow_tf32 = False
xs = x[:64].contiguous()
t = med(lambda: torch.matmul(xs, y))
print(f"torch bf16 64x{S}x{S}: {t:.4f} ms  {2*64*S*S/t/1e9:.1f} TFLOP/s")
