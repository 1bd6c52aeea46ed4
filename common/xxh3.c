/*
 * XXH3-128 with run-time dispatch: xxhash.h inlined into this file, its
 * accumulate and scramble loops instantiated for AVX2 and AVX-512 under
 * target attributes (as the library's own xxh_x86dispatch.c does), and
 * the scalar loop elsewhere (at -O3 as fast as Debian's SSE2 build; this
 * file's SSE2 instance, built for dispatch, ran at a third of that), and
 * libxxhash's own update as a cross-check for the tests.
 */
/* gcc's -O2 leaves the SSE2 and scalar loops at a third of their speed. */
#pragma GCC optimize("O3")

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define XXH_X86DISPATCH
#define XXH_DISPATCH_AVX2 1
#define XXH_DISPATCH_AVX512 1
#define XXH_TARGET_AVX2 __attribute__((target("avx2")))
#define XXH_TARGET_AVX512 __attribute__((target("avx512f")))
#endif
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common/xxh3.h"
#include "common/xxh3_int.h"

struct xxh3 {
	XXH3_state_t st;
};

typedef XXH_errorcode (*upd_fn)(XXH3_state_t *s, const xxh_u8 *p, size_t n);

static XXH_errorcode
upd_scalar(XXH3_state_t *s, const xxh_u8 *p, size_t n)
{
	return XXH3_update(s, p, n, XXH3_accumulate_512_scalar,
	    XXH3_scrambleAcc_scalar);
}

#if defined(__x86_64__)
XXH_TARGET_AVX2 static XXH_errorcode
upd_avx2(XXH3_state_t *s, const xxh_u8 *p, size_t n)
{
	return XXH3_update(s, p, n, XXH3_accumulate_512_avx2,
	    XXH3_scrambleAcc_avx2);
}

XXH_TARGET_AVX512 static XXH_errorcode
upd_avx512(XXH3_state_t *s, const xxh_u8 *p, size_t n)
{
	return XXH3_update(s, p, n, XXH3_accumulate_512_avx512,
	    XXH3_scrambleAcc_avx512);
}

static int
have_avx2(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
}

static int
have_avx512(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f");
}
#endif

static int
have_any(void)
{
	return 1;
}

static XXH_errorcode
upd_lib(XXH3_state_t *s, const xxh_u8 *p, size_t n)
{
	xxh3_lib_update(s, p, n);
	return XXH_OK;
}

static int
have_lib(void)
{
	return xxh3_lib_usable(sizeof(XXH3_state_t));
}

struct impl {
	const char *name;
	upd_fn fn;
	int (*have)(void);
};

static const struct impl impls[] = {
	/* Debian's (SSE2 on x86-64), on this file's states: 3 GB/s. */
	{ "libxxhash", upd_lib, have_lib },
	{ "scalar", upd_scalar, have_any },	/* 12-15 GB/s at -O3 */
#if defined(__x86_64__)
	{ "avx2", upd_avx2, have_avx2 },
	{ "avx512", upd_avx512, have_avx512 },
#endif
};
#define NIMPL (sizeof(impls) / sizeof(impls[0]))

static _Atomic(const struct impl *) cur;

static const struct impl *
best(void)
{
	const struct impl *b = &impls[0];

	for (size_t i = 0; i < NIMPL; i++)
		if (impls[i].have())
			b = &impls[i];
	return b;
}

static const struct impl *
current(void)
{
	const struct impl *im = atomic_load_explicit(&cur, memory_order_acquire);

	if (!im) {
		im = best();
		atomic_store_explicit(&cur, im, memory_order_release);
	}
	return im;
}

struct xxh3 *
xxh3_new(void)
{
	struct xxh3 *x;

	/* The state holds 64-byte aligned accumulators. */
	if (posix_memalign((void **)&x, 64, sizeof(*x)))
		return NULL;
	XXH3_INITSTATE(&x->st);
	XXH3_128bits_reset(&x->st);
	return x;
}

void
xxh3_free(struct xxh3 *x)
{
	free(x);
}

void
xxh3_update(struct xxh3 *x, const void *buf, size_t len)
{
	if (len)
		current()->fn(&x->st, buf, len);
}

void
xxh3_copy(struct xxh3 *dst, const struct xxh3 *src)
{
	XXH3_copyState(&dst->st, &src->st);
}

void
xxh3_digest(const struct xxh3 *x, unsigned char out[16])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&x->st));
	memcpy(out, c.digest, 16);
}

const char *
xxh3_impl(void)
{
	return current()->name;
}

int
xxh3_use(const char *name)
{
	if (!name) {
		atomic_store(&cur, best());
		return 0;
	}
	for (size_t i = 0; i < NIMPL; i++)
		if (strcmp(impls[i].name, name) == 0) {
			if (!impls[i].have())
				return -1;
			atomic_store(&cur, &impls[i]);
			return 0;
		}
	return -1;
}

const char *
xxh3_impl_name(unsigned i)
{
	return i < NIMPL ? impls[i].name : NULL;
}
