/*
 * fp_string: a 64-bit freestanding C guest (no libc, no libgcc) whose floating-point and string code is what a
 * static userland runs: scalar double and float through SSE2, long double through the x87, loops that GCC
 * vectorises into packed SSE2, and its own memcpy/memset/memmove/strlen/memcmp/strchr plus struct copies.
 *
 * Build (test/helpers/build_c_guest.ts does this, cached):
 *   gcc -O2 -ftree-vectorize -static -nostdlib -ffreestanding -fno-pic -mno-red-zone -m64 -msse2
 *       -fno-math-errno -fno-asynchronous-unwind-tables -Wl,--build-id=none -Wl,-Ttext=0x100000 -e _start
 *       guests/c/start64.S guests/c/fp_string.c -o fp_string.elf
 *   objcopy -O binary fp_string.elf fp_string.bin
 * (-fno-math-errno: without it GCC follows sqrt's inline instruction with a call to libm's sqrt for errno.)
 * Run: tsvmm run --mode long fp_string.bin (guests/c/start64.S enables the FPU and SSE and calls main at CPL 3,
 * as a userland; its port I/O below traps to start64's #GP handler, which performs it at CPL 0).
 *
 * Every input comes from a volatile variable so that GCC cannot fold a check at compile time; every expected
 * value is a constant computed on the host, with the computation in the comment above it (python3 floats are
 * binary64; binary32 results are rounded with struct.pack('f'), which is exact for one + - * / or sqrt of
 * binary32 operands because binary64 carries more than 2*24+2 bits; long double constants were computed on the
 * host's x87 with a C program built by gcc, named "host x87" below).
 *
 * The x87 checks avoid results that need more than binary64's 53 significand bits in a register: tsvmm's
 * emulator computes x87 arithmetic in binary64 (src/accel/emu/ops/x87.ts says so), so an exact 64-bit
 * significand survives loads, stores and integer conversions there but not arithmetic. Each x87 result is
 * either exact in 53 bits or compared after rounding to double where the host x87's double rounding gives the
 * same bits as one rounding (checked on the host).
 *
 * Output on COM1: "fp_string: ok\n" and exit code 0x45 to isa-debug-exit (status (0x45<<1)|1 = 139).
 * A failed check prints "fp_string: FAIL <n> got=<hex> want=<hex>" and exits with code n (1..99).
 */
typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef unsigned char u8;
typedef unsigned long size_t;

/* ---- port I/O and output ---- */

#ifndef FP_STRING_HOSTED
static inline void outb(unsigned short port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(unsigned short port, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
#else
/* The same checks as a host program, to confirm the constants on the host's own x87 and SSE (80-bit long
 * double): gcc -O2 -msse2 -fno-math-errno -DFP_STRING_HOSTED guests/c/fp_string.c -o fp && ./fp; echo $?
 * prints "fp_string: ok" and 69 (0x45). */
long write(int fd, const void *p, size_t n);
void _exit(int code);
static inline void outb(unsigned short port, u8 v) { (void)port, (void)write(1, &v, 1); }
static inline void outl(unsigned short port, u32 v) { (void)port, _exit((int)v); }
#endif

static void putc_(char c) { outb(0x3f8, (u8)c); }
static void puts_(const char *s) {
  while (*s) putc_(*s++);
}
static void puthex(u64 v) {
  for (int shift = 60; shift >= 0; shift -= 4) putc_("0123456789abcdef"[(v >> shift) & 0xf]);
}

static void fail(int id, u64 got, u64 want) {
  puts_("fp_string: FAIL ");
  putc_((char)('0' + id / 10));
  putc_((char)('0' + id % 10));
  puts_(" got=");
  puthex(got);
  puts_(" want=");
  puthex(want);
  putc_('\n');
  outl(0xf4, (u32)id);
  for (;;) __asm__ volatile("pause"); /* not reached */
}

static void check(int id, u64 got, u64 want) {
  if (got != want) fail(id, got, want);
}

static u64 dbits(double d) {
  u64 u;
  __builtin_memcpy(&u, &d, 8);
  return u;
}
static u64 fbits(float f) {
  u32 u;
  __builtin_memcpy(&u, &f, 4);
  return u;
}

/* ---- the string functions (GCC also calls memcpy/memset/memmove/memcmp itself, e.g. for struct copies) ---- */

#define NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))

NO_LIBCALLS void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
  u8 *d = dst;
  const u8 *s = src;
  for (size_t i = 0; i < n; i++) d[i] = s[i];
  return dst;
}

NO_LIBCALLS void *memmove(void *dst, const void *src, size_t n) {
  u8 *d = dst;
  const u8 *s = src;
  if (d < s) {
    for (size_t i = 0; i < n; i++) d[i] = s[i];
  } else {
    for (size_t i = n; i > 0; i--) d[i - 1] = s[i - 1];
  }
  return dst;
}

NO_LIBCALLS void *memset(void *dst, int c, size_t n) {
  u8 *d = dst;
  for (size_t i = 0; i < n; i++) d[i] = (u8)c;
  return dst;
}

NO_LIBCALLS int memcmp(const void *a, const void *b, size_t n) {
  const u8 *x = a, *y = b;
  for (size_t i = 0; i < n; i++)
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

NO_LIBCALLS size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

NO_LIBCALLS char *strchr(const char *s, int c) {
  for (;; s++) {
    if (*s == (char)c) return (char *)s;
    if (!*s) return 0;
  }
}

/* FNV-1a over n bytes: a digest of a buffer to compare with one computed the same way in python3. */
static u64 fnv1a(const void *p, size_t n) {
  const u8 *b = p;
  u64 h = 0xcbf29ce484222325UL;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 0x100000001b3UL;
  }
  return h;
}

/* ---- inputs, all volatile ---- */

static volatile double v_two = 2.0, v_one = 1.0, v_three = 3.0, v_zero = 0.0, v_ten = 10.0;
static volatile double v_01 = 0.1, v_02 = 0.2, v_m79 = -7.9, v_big = 123456789.987, v_m25 = -2.5, v_x = 0.7;
static volatile double v_15e19 = 1.5e19;
static volatile i64 v_i64max = 0x7fffffffffffffffL, v_m3 = -3, v_i64big = 0x123456789abcdef1L;
static volatile u64 v_u64max = 0xffffffffffffffffUL;
static volatile float vf_two = 2.0f, vf_one = 1.0f, vf_three = 3.0f;
static volatile long double vl_three = 3.0L, vl_seven = 7.0L, vl_two = 2.0L, vl_m25 = -2.5L, vl_16 = 16.0L;
static volatile long double vl_1e15 = 1e15L, vl_one = 1.0L, vl_tmp;
static volatile int v_n = 100;

/* ---- SSE2: double and float ---- */

static void test_double(void) {
  /* python3: struct.unpack('<Q', struct.pack('<d', math.sqrt(2.0)))[0] = 0x3ff6a09e667f3bcd */
  check(1, dbits(__builtin_sqrt(v_two)), 0x3ff6a09e667f3bcdUL);
  /* python3: 1.0/3.0 -> 0x3fd5555555555555 */
  check(2, dbits(v_one / v_three), 0x3fd5555555555555UL);
  /* python3: 0.1+0.2 = 0.30000000000000004 -> 0x3fd3333333333334 */
  check(3, dbits(v_01 + v_02), 0x3fd3333333333334UL);
  /* truncating conversions (cvttsd2si): int(-7.9) = -7, int(123456789.987) = 123456789, int(-2.5) = -2 */
  check(4, (u64)(i64)v_m79, (u64)-7L);
  check(5, (u64)(i64)v_big, 123456789UL);
  check(6, (u64)(int)v_m25, (u64)-2L);
  /* int64 -> double (cvtsi2sd): float(2**63-1) = 2**63 -> 0x43e0000000000000; float(-3) -> 0xc008000000000000 */
  check(7, dbits((double)v_i64max), 0x43e0000000000000UL);
  check(8, dbits((double)v_m3), 0xc008000000000000UL);
  /* uint64 -> double (GCC's shift-and-or sequence): float(2**64-1) = 2**64 -> 0x43f0000000000000 */
  check(9, dbits((double)v_u64max), 0x43f0000000000000UL);
  /* double -> uint64 above 2**63 (compare, subtract 2**63, convert, xor): int(1.5e19) = 15000000000000000000 */
  check(10, (u64)v_15e19, 15000000000000000000UL);

  /* comparisons, including NaN (unordered: ucomisd's PF) */
  volatile double nan = v_zero / v_zero;
  double a = v_one, b = v_two;
  u64 cmp = (u64)(a < b) | (u64)(a > b) << 1 | (u64)(a <= a) << 2 | (u64)(a == b) << 3 | (u64)(nan != nan) << 4 |
            (u64)(nan == nan) << 5 | (u64)(nan < a) << 6 | (u64)(nan > a) << 7 | (u64)(a != b) << 8;
  /* true: a<b (bit 0), a<=a (2), nan!=nan (4), a!=b (8) -> 0x115 */
  check(11, cmp, 0x115);

  /* Newton's iteration for sqrt(10) from 3, six steps:
   * python3: x=3.0
   *          for _ in range(6): x = x - (x*x-10.0)/(2.0*x)
   *          -> 3.1622776601683795 = 0x40094c583ada5b53 */
  double x = v_three, t = v_ten;
  for (int i = 0; i < 6; i++) x = x - (x * x - t) / (2.0 * x);
  check(12, dbits(x), 0x40094c583ada5b53UL);

  /* Horner: p(x) = ((((1.5x - 2.25)x + 0.125)x - 7)x + 3.5) at x = 0.7
   * python3: x=0.7; p=1.5
   *          for c in (-2.25, 0.125, -7.0, 3.5): p = p*x + c
   *          -> -1.7503499999999992 = 0xbffc016f0068db88 (no FMA: -msse2 has none to contract into) */
  static const double coef[] = {1.5, -2.25, 0.125, -7.0, 3.5};
  double px = v_x, p = coef[0];
  for (int i = 1; i < 5; i++) p = p * px + coef[i];
  check(13, dbits(p), 0xbffc016f0068db88UL);
}

static void test_float(void) {
  /* python3: struct.unpack('<I', struct.pack('<f', math.sqrt(2.0)))[0] = 0x3fb504f3 (sqrtss) */
  check(14, fbits(__builtin_sqrtf(vf_two)), 0x3fb504f3);
  /* python3: struct.pack('<f', 1/3) -> 0x3eaaaaab */
  check(15, fbits(vf_one / vf_three), 0x3eaaaaab);
  /* double -> float (cvtsd2ss): struct.pack('<f', 0.1) -> 0x3dcccccd */
  check(16, fbits((float)v_01), 0x3dcccccd);
  /* float -> double (cvtss2sd) of 1/3f: python3: struct.unpack('<f', struct.pack('<f', 1/3))[0] -> 0x3fd5555560000000 */
  check(17, dbits((double)(vf_one / vf_three)), 0x3fd5555560000000UL);
  /* harmonic sum in binary32, i = 1..100:
   * python3: f=lambda v: struct.unpack('<f', struct.pack('<f', v))[0]
   *          s=0.0
   *          for i in range(1,101): s = f(s + f(1.0/f(float(i))))
   *          -> 5.1873779296875 = 0x40a5ff00 */
  float s = 0.0f;
  int n = v_n;
  for (int i = 1; i <= n; i++) s += 1.0f / (float)i;
  check(18, fbits(s), 0x40a5ff00);
  /* float -> int truncation (cvttss2si): int(f(-7.9)) = -7 */
  check(19, (u64)(i64)(float)v_m79, (u64)-7L);
}

/* ---- x87: long double ---- */

static void test_long_double(void) {
  long double three = vl_three, seven = vl_seven, two = vl_two;
  /* exact results: 3+7 = 10, 3-7 = -4, 3*7 = 21, 21/7 = 3; checked through fistp to int64 */
  check(20, (u64)(i64)(three + seven), 10UL);
  check(21, (u64)(i64)(three - seven), (u64)-4L);
  check(22, (u64)(i64)(three * seven), 21UL);
  check(23, (u64)(i64)((three * seven) / seven), 3UL);
  /* 3/7 in long double, rounded to double (fstpl): host x87: (double)(3.0L/7.0L) = 0x3fdb6db6db6db6db, the same as
   * python3's 3.0/7.0 (one rounding) */
  check(24, dbits((double)(three / seven)), 0x3fdb6db6db6db6dbUL);
  /* (1e15 + 1) * 4 - 2 = 4000000000000002, exact in 53 bits; the long double -> int64 conversion is fistpll with
   * the rounding control set to truncation */
  check(25, (u64)(i64)((vl_1e15 + vl_one) * 4.0L - two), 4000000000000002UL);
  /* truncation toward zero: (i64)(-2.5L) = -2, (i64)(22/7) = 3 */
  check(26, (u64)(i64)vl_m25, (u64)-2L);
  check(27, (u64)(i64)((three * seven + 1.0L) / seven), 3UL);
  /* int64 -> long double -> int64 (fildll, fstpt, fldt, fistpll) beyond 2**53: exact with a 64-bit significand
   * (through a volatile long double, or GCC folds the round trip away) */
  vl_tmp = (long double)v_i64big;
  check(28, (u64)(i64)vl_tmp, 0x123456789abcdef1UL);
  /* long double -> double (fldt, fstpl) of that integer: rounded to 53 bits:
   * python3: struct.pack('<d', float(0x123456789abcdef1)) -> 0x43b23456789abcdf */
  check(29, dbits((double)vl_tmp), 0x43b23456789abcdfUL);
  /* double -> long double -> double round trip (fldl, fstpl) of 0.1 */
  check(30, dbits((double)(long double)v_01), 0x3fb999999999999aUL);
  /* fabsl (fabs; kept in long double, or GCC would take the absolute value after converting, with andpd) and
   * sqrtl (fsqrt), exact: |-2.5| * 4 = 10, sqrt(16) = 4 */
  check(31, (u64)(i64)(__builtin_fabsl(vl_m25) * 4.0L), 10UL);
  check(32, dbits((double)__builtin_sqrtl(vl_16)), 0x4010000000000000UL);
  /* sqrtl(2) rounded to double: host x87: (double)sqrtl(2.0L) = 0x3ff6a09e667f3bcd, as python3's math.sqrt(2.0) */
  check(33, dbits((double)__builtin_sqrtl(two)), 0x3ff6a09e667f3bcdUL);
  /* comparisons (fcomi/fucomi), including an unordered NaN */
  long double nan = (three - three) / (three - three);
  u64 cmp = (u64)(three < seven) | (u64)(three > seven) << 1 | (u64)(three <= three) << 2 |
            (u64)(three == seven) << 3 | (u64)(nan != nan) << 4 | (u64)(nan == nan) << 5 | (u64)(nan < three) << 6 |
            (u64)(-three < three) << 7;
  /* true: 3<7 (bit 0), 3<=3 (2), nan!=nan (4), -3<3 (7) -> 0x95 */
  check(34, cmp, 0x95);
  /* a series in long double: sum of 1/2**k, k = 0..40 = 2 - 2**-40, exact in 53 bits */
  long double sum = 0.0L, term = vl_one;
  for (int k = 0; k <= 40; k++) {
    sum += term;
    term /= two;
  }
  /* python3: struct.unpack('<Q', struct.pack('<d', 2 - 2**-40))[0] = 0x3ffffffffffff000 (host x87: the same) */
  check(35, dbits((double)sum), 0x3ffffffffffff000UL);
}

/* ---- loops GCC vectorises (packed SSE2) ---- */

#define N 1024
static int ia[N];
static float fa[N], fb[N], fc[N];
static double da[N];

static void test_vector(void) {
  for (int i = 0; i < N; i++) ia[i] = i * i - 3 * i;
  int isum = 0;
  for (int i = 0; i < N; i++) isum += ia[i]; /* paddd reduction */
  /* python3: sum(i*i-3*i for i in range(1024)) = 355818496 */
  check(36, (u64)(i64)isum, 355818496UL);

  for (int i = 0; i < N; i++) {
    fa[i] = (float)i * 0.5f; /* cvtdq2ps, mulps */
    fb[i] = 1.0f / (float)(i + 1);
    fc[i] = 2.0f;
  }
  for (int i = 0; i < N; i++) fc[i] = fa[i] * fb[i] + fc[i]; /* mulps, addps */
  /* a serial float sum (not vectorised: FP addition does not reassociate without -ffast-math)
   * python3: f=lambda v: struct.unpack('<f', struct.pack('<f', v))[0]
   *          s=0.0
   *          for i in range(1024):
   *            a=f(f(float(i))*0.5); b=f(1.0/f(float(i+1))); s=f(s+f(f(a*b)+2.0))
   *          -> struct.unpack('<I', struct.pack('<f', s))[0] = 0x451fc41e */
  float fs = 0.0f;
  for (int i = 0; i < N; i++) fs += fc[i];
  check(37, fbits(fs), 0x451fc41e);

  for (int i = 0; i < N; i++) da[i] = __builtin_sqrt((double)i); /* cvtdq2pd, sqrtpd */
  /* python3: s=0.0
   *          for i in range(1024): s += math.sqrt(float(i))
   *          -> 0x40d551481ca8a442 */
  double ds = 0.0;
  for (int i = 0; i < N; i++) ds += da[i];
  check(38, dbits(ds), 0x40d551481ca8a442UL);
  /* max of the int array (pmaxsd is SSE4.1; with SSE2 GCC uses pcmpgtd and masks): 1023*1020 = 1043460 */
  int mx = ia[0];
  for (int i = 0; i < N; i++) mx = ia[i] > mx ? ia[i] : mx;
  check(39, (u64)mx, 1043460UL);
}

/* ---- strings and struct copies ---- */

struct rec {
  i64 id;
  double weight;
  char name[40];
  int tags[30];
};

static struct rec recs[6];

static __attribute__((noinline)) struct rec make_rec(i64 id, const char *name) {
  struct rec r;
  memset(&r, 0, sizeof r);
  r.id = id;
  r.weight = (double)id * 0.25;
  memcpy(r.name, name, strlen(name) + 1);
  for (int i = 0; i < 30; i++) r.tags[i] = (int)id * 100 + i;
  return r; /* returned through memory: a struct copy */
}

static __attribute__((noinline)) i64 sum_rec(struct rec r) { /* passed by value: another copy */
  i64 s = r.id;
  for (int i = 0; i < 30; i++) s += r.tags[i];
  return s + (i64)strlen(r.name);
}

/* At -Os GCC copies and clears structs with rep movsl / rep stosl (at -O2 with SSE moves or a call to memcpy). */
static __attribute__((noinline, optimize("Os"))) void copy_rec(struct rec *d, const struct rec *s) { *d = *s; }
static __attribute__((noinline, optimize("Os"))) void clear_rec(struct rec *d) { *d = (struct rec){0}; }

static u8 buf[512], buf2[512];
static volatile const char *v_str = "the quick brown fox jumps over the lazy dog";

static void test_strings(void) {
  const char *s = (const char *)v_str;
  check(40, strlen(s), 43);
  check(41, (u64)(strchr(s, 'q') - s), 4);
  check(42, (u64)(strchr(s, 'z') - s), 37);
  check(43, (u64)strchr(s, '!'), 0);
  check(44, (u64)(strchr(s, 0) - s), 43);

  /* memset/memcpy/memmove at odd offsets and lengths; python3 reproduces the buffer:
   *   b = bytearray(512)
   *   for i in range(512): b[i] = (i*7+3) & 0xff
   *   b[5:5+300] = b'\xa5'*300
   *   s = b'the quick brown fox jumps over the lazy dog'
   *   for k in range(6): b[17+k*50 : 17+k*50+43] = s
   *   b[3:3+200] = b[9:9+200]        (memmove down)
   *   b[250:250+180] = b[240:240+180] (memmove up, via a copy)
   *   hex(fnv1a(b)) -> 0xd7fcc5c1ee265c00, with fnv1a as in this file; b[300] is then 0x70 */
  for (int i = 0; i < 512; i++) buf[i] = (u8)(i * 7 + 3);
  memset(buf + 5, 0xa5, 300);
  for (int k = 0; k < 6; k++) memcpy(buf + 17 + k * 50, s, 43);
  memmove(buf + 3, buf + 9, 200);
  memmove(buf + 250, buf + 240, 180);
  check(45, fnv1a(buf, 512), 0xd7fcc5c1ee265c00UL);

  memcpy(buf2, buf, 512);
  check(46, (u64)memcmp(buf, buf2, 512), 0);
  buf2[300] ^= 1; /* 0x70 -> 0x71: buf2 is now greater, memcmp(buf, buf2) < 0 */
  check(47, (u64)(i64)memcmp(buf, buf2, 512), (u64)-1L);
  check(48, (u64)(i64)memcmp(buf2, buf, 512), 1);
  check(49, (u64)memcmp(buf, buf2, 300), 0);

  /* struct copies: returned by value, assigned, passed by value */
  recs[0] = make_rec(3, "alpha");
  recs[1] = make_rec(7, "bravo charlie");
  recs[2] = recs[0];
  recs[3] = recs[1];
  recs[3].tags[29] = -1;
  /* sum_rec: id + sum(id*100 + i for i in range(30)) + len(name): 3 + 9435 + 5 = 9443; 7 + 21435 + 13 = 21455;
   * recs[3]: 21455 - (729) - 1 = 20725 */
  check(50, (u64)sum_rec(recs[2]), 9443);
  check(51, (u64)sum_rec(recs[1]), 21455);
  check(52, (u64)sum_rec(recs[3]), 20725);
  check(53, dbits(recs[3].weight), 0x3ffc000000000000UL); /* 7 * 0.25 = 1.75 */
  check(54, (u64)memcmp(&recs[0], &recs[2], sizeof(struct rec)), 0);
  check(55, (u64)(memcmp(&recs[1], &recs[3], sizeof(struct rec)) != 0), 1);
  check(56, (u64)strlen(recs[3].name), 13);
  memset(&recs[4], 0x5a, sizeof(struct rec));
  copy_rec(&recs[4], &recs[3]); /* rep movsl */
  check(57, (u64)memcmp(&recs[4], &recs[3], sizeof(struct rec)), 0);
  memset(&recs[5], 0x5a, sizeof(struct rec));
  clear_rec(&recs[5]); /* rep stosl */
  memset(buf, 0, sizeof(struct rec));
  check(58, (u64)memcmp(&recs[5], buf, sizeof(struct rec)), 0);
  check(59, (u64)sum_rec(recs[4]), 20725);
}

int main(void) {
  test_double();
  test_float();
  test_long_double();
  test_vector();
  test_strings();
  puts_("fp_string: ok\n");
  return 0x45;
}
