/* dtype.c - the dtype traits table and float tensors to F32 (the scalar
 * conversions: common/half.h). */
#include "codec/dtype.h"

#include <string.h>

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
