//! CPU tests of the baselines (no GPU): labels, the row-major mapping, type checks, errors.

use super::*;

#[test]
fn labels_are_stable_and_unique() {
    let labels: Vec<_> = Baseline::ALL.iter().map(|b| b.label()).collect();
    assert_eq!(
        labels,
        ["cublas_sgemm", "cublas_tf32", "cublas_bf16", "cublas_f16",
         "cublaslt_sgemm", "cublaslt_tf32", "cublaslt_bf16", "cublaslt_f16"]
    );
    let set: std::collections::HashSet<_> = labels.iter().collect();
    assert_eq!(set.len(), 8);
    assert_eq!([ElemType::F32.tag(), ElemType::Bf16.tag(), ElemType::F16.tag()], ["f32", "bf16", "f16"]);
    assert_eq!((bf16::TYPE, f16::TYPE, f32::TYPE), (ElemType::Bf16, ElemType::F16, ElemType::F32));
}

#[test]
fn row_major_maps_to_swapped_column_major() {
    let cm = |m, n, k| col_major(Dims::new(m, n, k)).unwrap();
    // GEMV, M = 1: n' = 1 and every ld is a real row count (never M = 1 as a stride).
    assert_eq!(cm(1, 4096, 4096), ColMajor { m: 4096, n: 1, k: 4096, lda: 4096, ldb: 4096, ldc: 4096 });
    assert_eq!(cm(1, 4097, 1023), ColMajor { m: 4097, n: 1, k: 1023, lda: 4097, ldb: 1023, ldc: 4097 });
    assert_eq!(cm(1, 1, 1), ColMajor { m: 1, n: 1, k: 1, lda: 1, ldb: 1, ldc: 1 });
    assert_eq!(cm(67, 45, 33), ColMajor { m: 45, n: 67, k: 33, lda: 45, ldb: 33, ldc: 45 });
    assert_eq!(cm(16, 1, 777), ColMajor { m: 1, n: 16, k: 777, lda: 1, ldb: 777, ldc: 1 });
    // ld ≥ rows of each column-major operand, and ≥ 1 even for zero sizes.
    for (m, n, k) in [(1, 1, 1), (16, 300, 777), (257, 131, 515), (3, 0, 0), (0, 0, 5)] {
        let c = cm(m, n, k);
        assert!(c.lda >= c.m.max(1) && c.ldb >= c.k.max(1) && c.ldc >= c.m.max(1), "{c:?}");
    }
    let e = col_major(Dims::new(1, i32::MAX as usize + 1, 1)).unwrap_err().to_string();
    assert!(e.contains("N = 2147483648"), "{e}");
}

#[test]
fn element_types_are_checked() {
    use {BaselineKind::*, BaselineMath::*, ElemType as E};
    for kind in [Cublas, CublasLt] {
        let b = |math| Baseline::new(kind, math);
        assert!(b(Fp32).check_types(E::F32, E::F32).is_ok());
        assert!(b(Tf32).check_types(E::F32, E::F32).is_ok());
        assert!(b(Bf16).check_types(E::Bf16, E::F32).is_ok());
        assert!(b(Bf16).check_types(E::Bf16, E::Bf16).is_ok());
        assert!(b(F16).check_types(E::F16, E::F16).is_ok());
        for (math, i, o) in [(Fp32, E::Bf16, E::F32), (Tf32, E::F32, E::Bf16), (Bf16, E::F16, E::F32),
                             (Bf16, E::Bf16, E::F16), (F16, E::F32, E::F32), (Fp32, E::F32, E::F16)] {
            let e = b(math).check_types(i, o).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
            assert!(e.to_string().contains(b(math).label()), "{e}");
        }
    }
}

#[test]
fn alignment_is_capped_and_errors_say_what_to_do() {
    assert_eq!([alignment(0), alignment(0x7000_0000_0000), alignment(0x7000_0000_0102)], [256, 256, 2]);
    assert_eq!(alignment(0x7000_0000_0010), 16);
    assert!(Error::NoCublasLt.to_string().contains("LD_LIBRARY_PATH"));
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Baselines>();
}
