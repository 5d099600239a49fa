/* dtype.c - the dtype traits table and F16/BF16/F32 conversions. */
#include "codec/dtype.h"

#include <math.h>

static const struct {
    const char *name;
    size_t size;
    int is_float;
} traits[HX_DT_COUNT] = {
    [HX_DT_INVALID] = {"INVALID", 0, 0}, [HX_DT_BOOL] = {"BOOL", 1, 0},
    [HX_DT_U8] = {"U8", 1, 0},           [HX_DT_I8] = {"I8", 1, 0},
    [HX_DT_I16] = {"I16", 2, 0},         [HX_DT_U16] = {"U16", 2, 0},
    [HX_DT_F16] = {"F16", 2, 1},         [HX_DT_BF16] = {"BF16", 2, 1},
    [HX_DT_I32] = {"I32", 4, 0},         [HX_DT_U32] = {"U32", 4, 0},
    [HX_DT_F32] = {"F32", 4, 1},         [HX_DT_I64] = {"I64", 8, 0},
    [HX_DT_U64] = {"U64", 8, 0},         [HX_DT_F64] = {"F64", 8, 1},
};

const char *hx_dtype_name(hx_dtype dt)
{
    return (dt > 0 && dt < HX_DT_COUNT) ? traits[dt].name : "INVALID";
}

hx_dtype hx_dtype_parse(const char *name)
{
    for (int i = 1; i < HX_DT_COUNT; i++)
        if (!strcmp(traits[i].name, name))
            return (hx_dtype)i;
    return HX_DT_INVALID;
}

size_t hx_dtype_size(hx_dtype dt) { return (dt > 0 && dt < HX_DT_COUNT) ? traits[dt].size : 0; }
int hx_dtype_is_float(hx_dtype dt) { return (dt > 0 && dt < HX_DT_COUNT) ? traits[dt].is_float : 0; }

float hx_f16_to_f32(uint16_t h)
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

uint16_t hx_f32_to_f16(float f)
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

int hx_to_f32(hx_dtype dt, const void *src, float *dst, size_t n)
{
    const unsigned char *s = src;
    switch (dt) {
    case HX_DT_F32:
        memcpy(dst, s, n * 4);
        return 0;
    case HX_DT_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = hx_bf16_to_f32(h);
        }
        return 0;
    case HX_DT_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = hx_f16_to_f32(h);
        }
        return 0;
    case HX_DT_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, s + 8 * i, 8);
            dst[i] = (float)d;
        }
        return 0;
    default:
        return -1;
    }
}
