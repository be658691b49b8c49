// One core's dot-product peaks: 16 independent vdpbf16ps zmm chains (64 flops each) against 16 vfmadd231ps zmm chains
// (32 flops each). Run by Scripts/bench_kernels.sh.
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
__attribute__((target("avx512f,avx512bf16,avx512bw,avx512vl")))
double bf(long n){
  __m512 acc[16]; for(int i=0;i<16;i++) acc[i]=_mm512_set1_ps(0);
  __m512bh a=(__m512bh)_mm512_set1_epi32(0x3f803f80), b=(__m512bh)_mm512_set1_epi32(0x3c003c00);
  double t=now();
  for(long i=0;i<n;i++){
    for(int j=0;j<16;j++){ acc[j]=_mm512_dpbf16_ps(acc[j],a,b); __asm__ volatile(""::"v"(acc[j]));}
  }
  t=now()-t; float s=0; for(int i=0;i<16;i++) s+=_mm512_reduce_add_ps(acc[i]);
  printf("bf16 dot: %.1f GFLOP/s (%g)\n", n*16.0*64/t/1e9, s); return t;
}
__attribute__((target("avx512f,fma")))
double fp(long n){
  __m512 acc[16]; for(int i=0;i<16;i++) acc[i]=_mm512_set1_ps(0);
  __m512 a=_mm512_set1_ps(1.0001f), b=_mm512_set1_ps(0.5f);
  double t=now();
  for(long i=0;i<n;i++){
    for(int j=0;j<16;j++){ acc[j]=_mm512_fmadd_ps(a,b,acc[j]); __asm__ volatile(""::"v"(acc[j]));}
  }
  t=now()-t; float s=0; for(int i=0;i<16;i++) s+=_mm512_reduce_add_ps(acc[i]);
  printf("fp32 fma: %.1f GFLOP/s (%g)\n", n*16.0*32/t/1e9, s); return t;
}
int main(){ for(int r=0;r<3;r++){bf(100000000/4); fp(100000000/4);} }
