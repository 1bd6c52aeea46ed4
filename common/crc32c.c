/*
 * CRC32C: a table anywhere; on x86-64 the crc32q instruction, three
 * streams of it at once (its latency is three cycles, its throughput one
 * a cycle), or VPCLMULQDQ folding of the whole block in 512-bit lanes.
 *
 * Polynomials are in the reflected form the instruction uses: bit i of a
 * 32-bit value is the coefficient of x^(31-i). crc32(c, M) over n bits is
 * c*x^n + M*x^32 mod P, so c*x^n mod P (a CRC moved past n zero bits) is
 * one carry-less multiply by x^(n-33) mod P and one crc32q of the product.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "common/crc32c.h"

#define POLY 0x82F63B78u	/* reflected Castagnoli polynomial */

typedef uint32_t (*crc_fn)(uint32_t c, const unsigned char *p, size_t len);

static uint32_t crc_table[8][256];

/* x^e mod P, reflected. */
static uint32_t
xpow(uint64_t e)
{
	uint32_t v = 0x80000000u;	/* x^0 */

	while (e--)
		v = (v >> 1) ^ ((v & 1) ? POLY : 0);
	return v;
}

/* Build the slicing-by-8 tables for the software path. */
static void
crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
			    crc_table[0][crc_table[t - 1][i] & 0xff];
}

/* Software CRC32C, slicing by 8. */
static uint32_t
crc_sw(uint32_t c, const unsigned char *p, size_t len)
{
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		v ^= c;
		c = crc_table[7][v & 0xff] ^ crc_table[6][(v >> 8) & 0xff] ^
		    crc_table[5][(v >> 16) & 0xff] ^ crc_table[4][(v >> 24) & 0xff] ^
		    crc_table[3][(v >> 32) & 0xff] ^ crc_table[2][(v >> 40) & 0xff] ^
		    crc_table[1][(v >> 48) & 0xff] ^ crc_table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
	return c;
}

#if defined(__x86_64__)
/* Stream lengths of the three-way path, longest first, and the shifts
 * past one and two of them: x^(8*len - 33) and x^(16*len - 33). */
static const size_t x3_len[2] = { 4096, 256 };
static uint64_t x3_k1[2], x3_k2[2];
/* Folding constants of the AVX-512 path (see fold()): by 2048 bits (four
 * registers), 512 (one), 1536 and 1024 (four to one), and the lanes of
 * one register onto its last (384, 256, 128). */
static uint64_t k2048[2], k512[2], k1536[2], k1024[2], klanes[8];

/* One stream, for short buffers and tails. */
__attribute__((target("sse4.2")))
static uint32_t
crc_hw1(uint32_t c, const unsigned char *p, size_t len)
{
	uint64_t c64 = c;

	while (len && ((uintptr_t)p & 7)) {
		c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c64 = __builtin_ia32_crc32di(c64, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
	return (uint32_t)c64;
}

/* c moved past the bits k stands for (k = x^(n-33) mod P). */
__attribute__((target("sse4.2,pclmul")))
static inline uint64_t
shift_prod(uint32_t c, uint64_t k)
{
	__m128i m = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)c),
	    _mm_cvtsi64_si128((long long)k), 0x00);
	return (uint64_t)_mm_cvtsi128_si64(m);
}

/* Three streams over consecutive thirds, joined by carry-less shifts. */
__attribute__((target("sse4.2,pclmul")))
static uint32_t
crc_hw3(uint32_t c, const unsigned char *p, size_t len)
{
	for (int s = 0; s < 2; s++) {
		size_t n = x3_len[s];
		while (len >= 3 * n) {
			uint64_t a = c, b = 0, d = 0;
			const unsigned char *q = p;
			for (size_t i = 0; i < n; i += 8, q += 8) {
				uint64_t va, vb, vd;
				memcpy(&va, q, 8);
				memcpy(&vb, q + n, 8);
				memcpy(&vd, q + 2 * n, 8);
				a = __builtin_ia32_crc32di(a, va);
				b = __builtin_ia32_crc32di(b, vb);
				d = __builtin_ia32_crc32di(d, vd);
			}
			uint64_t t = shift_prod((uint32_t)a, x3_k2[s]) ^
			    shift_prod((uint32_t)b, x3_k1[s]);
			c = (uint32_t)__builtin_ia32_crc32di(0, t) ^ (uint32_t)d;
			p += 3 * n;
			len -= 3 * n;
		}
	}
	return crc_hw1(c, p, len);
}

#define AVX512_TARGET "sse4.2,pclmul,avx512f,avx512bw,avx512vl,vpclmulqdq"

/* Each 128-bit lane of x moved forward by the distance k stands for. */
__attribute__((target(AVX512_TARGET)))
static inline __m512i
fold(__m512i x, __m512i k)
{
	return _mm512_xor_si512(_mm512_clmulepi64_epi128(x, k, 0x00),
	    _mm512_clmulepi64_epi128(x, k, 0x11));
}

/* fold(x, k) ^ y */
__attribute__((target(AVX512_TARGET)))
static inline __m512i
fold_xor(__m512i x, __m512i k, __m512i y)
{
	return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
	    _mm512_clmulepi64_epi128(x, k, 0x11), y, 0x96);
}

__attribute__((target(AVX512_TARGET)))
static inline __m512i
kvec(const uint64_t k[2])
{
	return _mm512_set_epi64((long long)k[1], (long long)k[0],
	    (long long)k[1], (long long)k[0], (long long)k[1], (long long)k[0],
	    (long long)k[1], (long long)k[0]);
}

/*
 * Four 512-bit accumulators fold over 256 bytes a step; then one over 64;
 * the last 128 bits and the tail go through crc32q. The CRC so far is
 * XORed into the first bytes, as the instruction itself does.
 */
__attribute__((target(AVX512_TARGET)))
static uint32_t
crc_avx512(uint32_t c, const unsigned char *p, size_t len)
{
	if (len < 256)
		return crc_hw1(c, p, len);

	__m512i a0 = _mm512_loadu_si512(p), a1 = _mm512_loadu_si512(p + 64),
	    a2 = _mm512_loadu_si512(p + 128), a3 = _mm512_loadu_si512(p + 192);
	a0 = _mm512_xor_si512(a0, _mm512_zextsi128_si512(
	    _mm_cvtsi32_si128((int)c)));
	p += 256;
	len -= 256;
	__m512i k = kvec(k2048);
	while (len >= 256) {
		a0 = fold_xor(a0, k, _mm512_loadu_si512(p));
		a1 = fold_xor(a1, k, _mm512_loadu_si512(p + 64));
		a2 = fold_xor(a2, k, _mm512_loadu_si512(p + 128));
		a3 = fold_xor(a3, k, _mm512_loadu_si512(p + 192));
		p += 256;
		len -= 256;
	}
	a3 = _mm512_ternarylogic_epi64(fold(a0, kvec(k1536)),
	    fold(a1, kvec(k1024)), a3, 0x96);
	a3 = fold_xor(a2, kvec(k512), a3);
	k = kvec(k512);
	while (len >= 64) {
		a3 = fold_xor(a3, k, _mm512_loadu_si512(p));
		p += 64;
		len -= 64;
	}
	/* Lanes 0-2 onto lane 3 (klanes has zeros for lane 3). */
	__m512i f = fold(a3, _mm512_loadu_si512(klanes));
	__m128i v = _mm512_extracti32x4_epi32(a3, 3);
	v = _mm_ternarylogic_epi64(v, _mm512_extracti32x4_epi32(f, 0),
	    _mm512_extracti32x4_epi32(f, 1), 0x96);
	v = _mm_xor_si128(v, _mm512_extracti32x4_epi32(f, 2));
	uint64_t c64 = __builtin_ia32_crc32di(0,
	    (uint64_t)_mm_cvtsi128_si64(v));
	c64 = __builtin_ia32_crc32di(c64,
	    (uint64_t)_mm_extract_epi64(v, 1));
	return crc_hw1((uint32_t)c64, p, len);
}

/* The lane constants for a fold by d bits: high half, low half. */
static void
kpair(uint64_t k[2], unsigned d)
{
	k[0] = xpow(d + 64 - 33);
	k[1] = xpow(d - 33);
}
#endif

struct impl {
	const char *name;
	crc_fn fn;
	int (*have)(void);
};

static int
have_any(void)
{
	return 1;
}

#if defined(__x86_64__)
static int
have_sse42(void)
{
	return __builtin_cpu_supports("sse4.2");
}

static int
have_x3(void)
{
	return __builtin_cpu_supports("sse4.2") &&
	    __builtin_cpu_supports("pclmul");
}

static int
have_avx512(void)
{
	return have_x3() && __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl") &&
	    __builtin_cpu_supports("vpclmulqdq");
}
#endif

static const struct impl impls[] = {
	{ "table", crc_sw, have_any },
#if defined(__x86_64__)
	{ "sse42", crc_hw1, have_sse42 },
	{ "sse42x3", crc_hw3, have_x3 },
	{ "avx512", crc_avx512, have_avx512 },
#endif
};
#define NIMPL (sizeof(impls) / sizeof(impls[0]))

static _Atomic(const struct impl *) cur;

/* Tables and constants, once. */
static void
crc_init_once(void)
{
	crc_table_init();
#if defined(__x86_64__)
	__builtin_cpu_init();
	for (int s = 0; s < 2; s++) {
		x3_k1[s] = xpow(8 * x3_len[s] - 33);
		x3_k2[s] = xpow(16 * x3_len[s] - 33);
	}
	kpair(k2048, 2048);
	kpair(k512, 512);
	kpair(k1536, 1536);
	kpair(k1024, 1024);
	kpair(klanes, 384);
	kpair(klanes + 2, 256);
	kpair(klanes + 4, 128);
	klanes[6] = klanes[7] = 0;
#endif
}

static void
crc_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, crc_init_once);
}

static const struct impl *
best(void)
{
	const struct impl *b = &impls[0];

	crc_init();
	for (size_t i = 0; i < NIMPL; i++)
		if (impls[i].have())
			b = &impls[i];
	return b;
}

uint32_t
crc32c(uint32_t crc, const void *buf, size_t len)
{
	const struct impl *im = atomic_load_explicit(&cur, memory_order_acquire);

	if (!im) {
		im = best();
		atomic_store_explicit(&cur, im, memory_order_release);
	}
	return ~im->fn(~crc, buf, len);
}

const char *
crc32c_impl(void)
{
	const struct impl *im = atomic_load_explicit(&cur, memory_order_acquire);

	return (im ? im : best())->name;
}

int
crc32c_use(const char *name)
{
	crc_init();
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
crc32c_impl_name(unsigned i)
{
	return i < NIMPL ? impls[i].name : NULL;
}
