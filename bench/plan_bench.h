/* abs-bench --planner (bench/plan_bench.c). */
#ifndef ABS_PLAN_BENCH_H
#define ABS_PLAN_BENCH_H

#include <stdint.h>

/* ABS's planner against the Amanda-style baseline over a simulated site
   (0: the defaults of planner/sim.c), over seeds sites from seed on (one
   line each when more than one), then the 100,000-entity timing (median
   of runs); prints the figures, returns the exit status. */
int plan_bench(int nentities, int nights, int runs, uint64_t seed,
    int seeds);

#endif
