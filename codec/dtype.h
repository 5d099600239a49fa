/* dtype.h - the tensor element types hxzoo reads and writes (one traits
 * table: name, size, float-ness) and the conversion of a float tensor's
 * elements to F32; the scalar BF16/F16 conversions are common/half.h. */
#ifndef HX_DTYPE_H
#define HX_DTYPE_H

#include "common/half.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum {
    HX_DT_INVALID = 0,
    HX_DT_BOOL,
    HX_DT_U8,
    HX_DT_I8,
    HX_DT_I16,
    HX_DT_U16,
    HX_DT_F16,
    HX_DT_BF16,
    HX_DT_I32,
    HX_DT_U32,
    HX_DT_F32,
    HX_DT_I64,
    HX_DT_U64,
    HX_DT_F64,
    HX_DT_COUNT
} hx_dtype;

/* Name as written in safetensors headers ("BF16", "F32", ...). */
const char *hx_dtype_name(hx_dtype dt);
/* Parse a safetensors dtype name; HX_DT_INVALID if unknown. */
hx_dtype hx_dtype_parse(const char *name);
size_t hx_dtype_size(hx_dtype dt);
int hx_dtype_is_float(hx_dtype dt);

/* hx_bf16_to_f32, hx_f32_to_bf16, hx_f16_to_f32, hx_f32_to_f16:
 * common/half.h (shared with gpu/). */

/* Convert n elements of a float dtype (BF16/F16/F32/F64) to F32. The source
 * may be unaligned. Returns 0 on success, -1 if dt is not a float type. */
int hx_to_f32(hx_dtype dt, const void *src, float *dst, size_t n);

#endif
