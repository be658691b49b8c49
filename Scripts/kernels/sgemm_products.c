// swift-gpt's own sgemm against OpenBLAS on the shakespeare-char-cpu training's product shapes (rows split over 2
// threads as the training does), one thread each, best of 5 × N calls. Run by Scripts/bench_kernels.sh.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cblas.h>
void gpt_sgemm(int level, int transposeA, int transposeB, int rows, int columns, int inner, float alpha, const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc);
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
void bench(const char*name,int M,int N,int K,int ta,int tb,int reps){
  float *a=malloc(4L*M*K),*b=malloc(4L*K*N),*c=malloc(4L*M*N);
  for(long i=0;i<(long)M*K;i++) a[i]=0.01f*(i%13); for(long i=0;i<(long)K*N;i++) b[i]=0.01f*(i%11); for(long i=0;i<(long)M*N;i++) c[i]=0;
  long lda=ta?M:K, ldb=tb?K:N;
  double best=1e9,bests=1e9;
  for(int rep=0;rep<5;rep++){ double t=now(); for(int i=0;i<reps;i++) gpt_sgemm(2,ta,tb,M,N,K,1,a,lda,b,ldb,1,c,N); t=(now()-t)/reps; if(t<best)best=t;
    t=now(); for(int i=0;i<reps;i++) cblas_sgemm(CblasRowMajor,ta?CblasTrans:CblasNoTrans,tb?CblasTrans:CblasNoTrans,M,N,K,1,a,lda,b,ldb,1,c,N); t=(now()-t)/reps; if(t<bests)bests=t;}
  double f=2.0*M*N*K; printf("%-22s %4dx%4dx%4d ta%d tb%d: ours %6.1f  openblas %6.1f GFLOP/s  (%.1f vs %.1f us)\n",name,M,N,K,ta,tb,f/best/1e9,f/bests/1e9,best*1e6,bests*1e6);
}
int main(){ openblas_set_num_threads(1);
 bench("fwd qkv",384,384,128,0,0,50); bench("fwd mlp up",384,512,128,0,0,50); bench("fwd mlp down",384,128,512,0,0,50); bench("fwd unembed",384,65,128,0,1,50);
 bench("dX qkv",384,128,384,0,1,50); bench("dX mlp down",384,512,128,0,1,50); bench("dX unembed",384,128,65,0,0,50);
 bench("dW qkv",128,192,768,1,0,50); bench("dW mlp up",128,256,768,1,0,50); bench("dW mlp down",512,64,768,1,0,50); bench("dW unembed",32,128,768,1,0,50);
 bench("att scores",64,64,32,0,1,500); bench("att values",64,32,64,0,0,500); bench("att dV",64,32,64,1,0,500); bench("att dP",64,64,32,0,1,500);
}
