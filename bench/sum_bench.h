/* abs-bench --sums: the per-byte work alone (bench/sum_bench.c). */
#ifndef ABS_BENCH_SUM_H
#define ABS_BENCH_SUM_H

int sum_bench(unsigned runs);

#endif
