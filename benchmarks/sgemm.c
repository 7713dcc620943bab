/* OpenBLAS sgemm throughput on given shapes: the machine's practical matmul limit.
 *
 *   sgemm M N K [M N K ...]
 *
 * For each shape, C[M,N] = A[M,K] * B[N,K]^T (row-major; B in nn.Linear's [out, in]
 * layout, as the model's projections use it), timed as the best of several repetitions
 * after a warm-up, each repetition at least ~0.2 s of calls. Prints one line per shape:
 * "M N K seconds_per_call gflops". Threads: OPENBLAS_NUM_THREADS in the environment.
 *
 * Built by benchmarks/run.py with: cc -O2 sgemm.c -lopenblas (plus the include dir of
 * the cblas.h that belongs to the installed OpenBLAS).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *alloc_random(size_t n, unsigned *seed) {
  float *p = aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64);
  if (!p) {
    fprintf(stderr, "sgemm: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < n; ++i)
    p[i] = (float)rand_r(seed) / (float)RAND_MAX - 0.5f;
  return p;
}

int main(int argc, char **argv) {
  if (argc < 4 || (argc - 1) % 3) {
    fprintf(stderr, "usage: sgemm M N K [M N K ...]\n");
    return 2;
  }
  unsigned seed = 1;
  for (int s = 1; s + 2 < argc; s += 3) {
    int m = atoi(argv[s]), n = atoi(argv[s + 1]), k = atoi(argv[s + 2]);
    if (m <= 0 || n <= 0 || k <= 0) {
      fprintf(stderr, "sgemm: bad shape %s %s %s\n", argv[s], argv[s + 1], argv[s + 2]);
      return 2;
    }
    float *a = alloc_random((size_t)m * k, &seed);
    float *b = alloc_random((size_t)n * k, &seed);
    float *c = alloc_random((size_t)m * n, &seed);
    double flops = 2.0 * m * n * k;
    /* Warm-up, and an estimate of the per-call time to size the repetitions. */
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f,
                c, n);
    double once = now() - t0;
    int calls = (int)(0.2 / (once > 1e-6 ? once : 1e-6)) + 1;
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
      t0 = now();
      for (int i = 0; i < calls; ++i)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k,
                    0.0f, c, n);
      double t = (now() - t0) / calls;
      if (t < best)
        best = t;
    }
    printf("%d %d %d %.9f %.3f\n", m, n, k, best, flops / best * 1e-9);
    fflush(stdout);
    free(a);
    free(b);
    free(c);
  }
  return 0;
}
