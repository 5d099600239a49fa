/* estimate.c - the engine's plan before it runs: which device, how many
 * tokens a window group may hold within the memory budget, how many groups
 * (weight passes) that makes, the peak resident memory this implies and a
 * time estimate at this machine's measured sgemm rate. Also the device
 * and budget defaults. Reads configs and safetensors headers only. */
#include "codec/safetensors.h"
#include "common/parallel.h"
#include "eval/backend_internal.h"
#include "gpu/gpu_model.h"
#include "model/blas.h"

#include <stdlib.h>
#include <string.h>

#define VBLOCK 4096
#define RBLOCK 4096

const char *const hx_device_names[] = {"auto", "cpu", "cuda", NULL};
const char *const hx_compute_dtype_names[] = {"auto", "f32", "bf16", NULL};

int hx_compute_dtype_parse(const char *name, hx_compute_dtype *d)
{
    int i = hx_name_index(hx_compute_dtype_names, name);
    if (i >= 0)
        *d = (hx_compute_dtype)i;
    return i >= 0 ? 0 : -1;
}

const char *hx_compute_dtype_name(hx_compute_dtype d)
{
    return d == HX_DTYPE_BF16 ? "bfloat16" : "float32";
}

hx_status hx_compute_dtype_resolve(hx_device dev, hx_compute_dtype d, hx_compute_dtype *out)
{
    if (dev == HX_DEV_CUDA) {
        *out = d == HX_DTYPE_AUTO ? HX_DTYPE_BF16 : d;
        return HX_OK;
    }
    if (d == HX_DTYPE_BF16)
        return HX_FAIL(HX_EINVAL, "--dtype bf16 needs --device cuda: the CPU evaluates in float32 only");
    *out = HX_DTYPE_F32;
    return HX_OK;
}

int hx_device_parse(const char *name, hx_device *d)
{
    int i = hx_name_index(hx_device_names, name);
    if (i >= 0)
        *d = (hx_device)i;
    return i >= 0 ? 0 : -1;
}

const char *hx_device_name(hx_device d) { return hx_device_names[d]; }

void hx_engine_opts_default(hx_engine_opts *o)
{
    memset(o, 0, sizeof *o);
    o->device = HX_DEV_CPU;
    o->progress = 1;
}

uint64_t hx_eval_default_budget(void)
{
    uint64_t b = hx_mem_available() / 3, lo = 256ull << 20, hi = 2ull << 30;
    return b < lo ? lo : b > hi ? hi : b;
}

hx_device hx_device_resolve(hx_device d)
{
    if (d != HX_DEV_AUTO)
        return d;
    return hxg_probe(NULL, 0, NULL, 0) == HX_OK ? HX_DEV_CUDA : HX_DEV_CPU;
}

hx_status hx_device_for(hx_device requested, hx_arch arch, const char *what, hx_device *out)
{
    if (arch == HX_ARCH_TRANSFORMER) {
        *out = hx_device_resolve(requested);
        return HX_OK;
    }
    if (requested == HX_DEV_CUDA)
        return HX_FAIL(HX_EINVAL, "the CUDA backend has no forward pass for %s: use --device cpu", what);
    *out = HX_DEV_CPU;
    return HX_OK;
}

typedef struct sizes {
    hx_model_config c;
    uint64_t layer_max, embed_row, head_block, weights;
} sizes;

static hx_status model_sizes(const char *dir, sizes *z)
{
    memset(z, 0, sizeof *z);
    hx_status s = hx_model_config_load(dir, &z->c);
    hx_st_model *st;
    if (s || (s = hx_st_model_open(dir, &st)))
        return s;
    uint64_t *per = hx_calloc((size_t)z->c.n_layers, sizeof *per);
    uint64_t head = 0, emb = 0;
    for (size_t i = 0; i < hx_st_model_count(st); i++) {
        const hx_st_tensor *t = hx_st_model_at(st, i);
        z->weights += t->nbytes;
        int l;
        if ((sscanf(t->name, "model.layers.%d.", &l) == 1 || sscanf(t->name, "backbone.layers.%d.", &l) == 1) &&
            l >= 0 && l < z->c.n_layers)
            per[l] += t->nbytes;
        else if (!strncmp(t->name, "lm_head.", 8))
            head += t->nbytes;
        else if (!strncmp(t->name, "model.embed_tokens.", 19) || !strncmp(t->name, "backbone.embedding", 18))
            emb += t->nbytes;
    }
    for (int l = 0; l < z->c.n_layers; l++)
        z->layer_max = per[l] > z->layer_max ? per[l] : z->layer_max;
    if (!head)
        head = emb;
    z->embed_row = z->c.vocab ? emb / (uint64_t)z->c.vocab : 0;
    z->head_block = z->c.vocab ? head / (uint64_t)z->c.vocab * VBLOCK : 0;
    free(per);
    hx_st_model_close(st);
    return HX_OK;
}

/* host bytes for groups of T tokens */
static uint64_t host_bytes(const sizes *z, int ns, int max_ctx, int T)
{
    uint64_t b = 0;
    int rb = T < RBLOCK ? T : RBLOCK;
    for (int i = 0; i < ns; i++)
        b += hx_model_buffer_bytes(&z[i].c, max_ctx, T);
    b += (uint64_t)ns * rb * VBLOCK * 4 + (uint64_t)rb * sizeof(hx_row_state);
    b += (uint64_t)T * 48; /* the engine's per-row arrays */
    return b;
}

static double sgemm_gflops(void)
{
    if (hx_blas_init())
        return 0;
    int n = 256;
    float *a = hx_calloc((size_t)n * n, sizeof *a), *c = hx_malloc((size_t)n * n * sizeof *c);
    for (int i = 0; i < n * n; i++)
        a[i] = (float)(i % 7) * 0.1f;
    hx_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1, a, n, a, n, 0, c, n);
    double t0 = hx_now();
    int reps = 4;
    for (int r = 0; r < reps; r++)
        hx_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1, a, n, a, n, 0, c, n);
    double dt = hx_now() - t0;
    free(a);
    free(c);
    /* our threads each run one sgemm: the rate scales with them */
    return dt > 0 ? 2.0 * n * n * n * reps / dt / 1e9 * hx_ncpus() : 0;
}

hx_status hx_eval_estimate_pair(const char *model_dir, const char *base_dir, const hx_eval_plan *p,
                                const hx_engine_opts *o, hx_eval_estimate *e)
{
    memset(e, 0, sizeof *e);
    sizes z[2];
    int ns = base_dir ? 2 : 1;
    const char *dirs[2] = {model_dir, base_dir};
    for (int i = 0; i < ns; i++) {
        hx_status s = model_sizes(dirs[i], &z[i]);
        if (s)
            return hx_preerr("%s", dirs[i]), s;
    }
    const hx_model_config *fam = z[0].c.arch != HX_ARCH_TRANSFORMER ? &z[0].c : &z[ns - 1].c;
    hx_status dvs = hx_device_for(o->device, fam->arch, fam->model_type, &e->device);
    if (dvs)
        return dvs;
    hx_status ds = hx_compute_dtype_resolve(e->device, o->dtype, &e->dtype);
    if (ds)
        return ds;
    uint64_t budget = o->mem_budget ? o->mem_budget : hx_eval_default_budget();
    long total = 0;
    for (long w = 0; w < p->n_windows; w++)
        total += p->w[w].n;
    /* largest group (at least one window): on the CPU within the host
     * budget; on CUDA, where the activations live on the device, up to
     * 16384 tokens within a quarter of the free device memory */
    long lo = p->max_len, hi = total > lo ? total : lo;
    if (e->device == HX_DEV_CUDA) {
        uint64_t fr = 0, tot = 0;
        hxg_mem_info(&fr, &tot);
        long cap = 16384;
        while (cap > p->max_len) {
            uint64_t need = 0;
            for (int i = 0; i < ns; i++)
                need += hx_backend_cuda.device_bytes(&z[i].c, p->max_len, (int)cap, e->dtype);
            if (need <= fr / 4)
                break;
            cap /= 2;
        }
        lo = hi < cap ? hi : cap > lo ? cap : lo;
    } else {
        while (lo < hi) {
            long mid = lo + (hi - lo + 1) / 2;
            if (host_bytes(z, ns, p->max_len, (int)mid) <= budget)
                lo = mid;
            else
                hi = mid - 1;
        }
    }
    if (lo > (1L << 30) / 64)
        lo = (1L << 30) / 64;
    e->max_group_tokens = (int)(lo > p->max_len ? lo : p->max_len);
    int used_max = 0;
    for (long w0 = 0; w0 < p->n_windows;) {
        long w1 = w0;
        int ntok = 0;
        while (w1 < p->n_windows && (w1 == w0 || ntok + p->w[w1].n <= e->max_group_tokens))
            ntok += p->w[w1++].n;
        used_max = ntok > used_max ? ntok : used_max;
        e->groups++;
        w0 = w1;
    }
    if (used_max > 0 && used_max < e->max_group_tokens)
        e->max_group_tokens = used_max; /* no larger buffers than a group uses */
    e->buffers = host_bytes(z, ns, p->max_len, e->max_group_tokens);
    for (int i = 0; i < ns; i++) {
        e->mapped += z[i].layer_max + z[i].head_block;
        e->flops += hx_model_flops_per_token(&z[i].c) * (double)total;
    }
    if (e->device == HX_DEV_CUDA) {
        for (int i = 0; i < ns; i++)
            e->device_bytes += hx_backend_cuda.device_bytes(&z[i].c, p->max_len, e->max_group_tokens,
                                                            e->dtype) +
                               z[i].weights;
        /* the host side maps one weight at a time while uploading */
        e->buffers = (uint64_t)e->max_group_tokens * 48;
    }
    /* the embeddings of a group's tokens are touched, then dropped */
    e->peak = e->buffers + e->mapped + (uint64_t)e->max_group_tokens * z[0].embed_row +
              (64u << 20) /* code, libraries, tokenizer, plan */;
    e->gflops = e->device == HX_DEV_CPU ? sgemm_gflops() : 0;
    e->seconds = e->gflops > 0 ? e->flops / (e->gflops * 1e9) : 0;
    return HX_OK;
}
