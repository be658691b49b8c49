#!/usr/bin/env bash
# Kernel-level figures behind BENCHMARKS.md's issue-15 section, one core each:
#   peak_dot       — register-only loops: vdpbf16ps zmm against vfmadd231ps zmm (GFLOP/s per core);
#   sgemm_products — swift-gpt's own sgemm (Sources/CKernels/sgemm.c) against OpenBLAS on the
#                    training's product shapes (run it with OPENBLAS_CORETYPE=SkylakeX, or unset).
# Builds with clang into a temporary folder; needs libopenblas-dev.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
clang -O2 "$root/Scripts/kernels/peak_dot.c" -o "$out/peak_dot"
clang -O2 -I"$root/Sources/CKernels/include" -I"$root/Sources/CKernels" "$root/Sources/CKernels/sgemm.c" \
    "$root/Sources/CKernels/levels.c" "$root/Scripts/kernels/sgemm_products.c" -o "$out/sgemm_products" -lopenblas -lm
echo "== peak: vdpbf16ps zmm vs vfmadd231ps zmm, one core"
"$out/peak_dot"
echo "== own sgemm (AVX-512 level) vs OpenBLAS ($(printenv OPENBLAS_CORETYPE || echo 'OPENBLAS_CORETYPE unset')), one thread"
"$out/sgemm_products"
