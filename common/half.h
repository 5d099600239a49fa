/* half.h - the BF16 and F16 <-> F32 conversions of hxzoo, one set for
 * every module (codec/dtype.h, gpu/ref.c, gpu/check/gpu_check.c): exact,
 * static inline, plain C11 (also valid C++ for host code). F32 -> BF16 and
 * F32 -> F16 round to nearest even; NaN stays NaN; F16 overflows to inf
 * (IEEE semantics, like numpy). */
#ifndef HX_HALF_H
#define HX_HALF_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float hx_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Round to nearest even; NaN stays NaN (quiet). */
static inline uint16_t hx_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float hx_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: value = man * 2^-24 */
            float f = (float)man * 5.9604644775390625e-08f;
            memcpy(&u, &f, 4);
            u |= sign;
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Round to nearest even, overflow to inf (IEEE semantics, like numpy). */
static inline uint16_t hx_f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t au = u & 0x7fffffffu;
    if (au > 0x7f800000u)
        return sign | 0x7e00; /* NaN */
    if (au >= 0x477ff000u)  /* >= 65520 rounds to inf */
        return sign | 0x7c00;
    if (au < 0x38800000u) { /* below the smallest normal: subnormal or zero */
        float af;
        memcpy(&af, &au, 4);
        /* value / 2^-24, rounded to nearest even by the FPU */
        float q = af * 16777216.0f;
        uint32_t m = (uint32_t)nearbyintf(q);
        return sign | (uint16_t)m;
    }
    uint32_t mant = au & 0x7fffff;
    uint32_t exp = (au >> 23) - 112;
    uint32_t h = (exp << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;
    return sign | (uint16_t)h;
}

#endif
