/* cmd_generate.c - `hxzoo generate MODEL_DIR --prompt TEXT`: greedy text
 * generation on the CPU forward pass or on the GPU (--device cuda: weights
 * resident in their stored form, the fused HXQ GEMV for each decode step).
 * The prompt is encoded with the model's tokenizer.json (BOS as its
 * post-processor says); the prompt and continuation are printed as text,
 * and --json FILE records the prefill and decode rates. */
#include "cli/cli.h"
#include "eval/eval.h"
#include "gpu/gpu_model.h"
#include "model/model.h"
#include "model/tokenizer.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: hxzoo generate MODEL_DIR --prompt TEXT [--max-tokens N] [--ids]\n"
               "                      [--device cpu|cuda] [--dtype auto|f32|bf16] [--json FILE]\n\n"
               "Greedy generation from a dense or HXQ model directory.\n"
               "  --prompt TEXT     the prompt (may be empty: BOS only)\n"
               "  --max-tokens N    new tokens at most (default 64)\n"
               "  --tokenizer PATH  tokenizer.json to use (default MODEL_DIR's)\n"
               "  --ids             print the generated ids instead of text\n"
               "  --device NAME     cpu (default) or cuda\n"
               "  --dtype NAME      CUDA arithmetic: bf16 (auto) or f32\n"
               "  --json FILE       write ids and prefill/decode tokens/s there\n");
}

int cmd_generate(int argc, char **argv)
{
    const char *prompt = NULL, *tokp = NULL, *device = "cpu", *dtype = "auto", *jsonp = NULL;
    long max_new = 64;
    int print_ids = 0;
    const hx_opt opts[] = {
        HX_OPTE_STR("prompt", 0, &prompt),
        HX_OPTE_LONG("max-tokens", &max_new, 1, 1 << 20),
        HX_OPTE_STR("tokenizer", 0, &tokp),
        HX_OPTE_FLAG("ids", 0, &print_ids, 1),
        HX_OPTE_STR("device", 0, &device),
        HX_OPTE_STR("dtype", 0, &dtype),
        HX_OPTE_STR("json", 0, &jsonp),
        HX_OPTE_HELP('h'),
        HX_OPTE_END,
    };
    const hx_opts spec = {.prog = "hxzoo generate", .opts = opts, .style = HX_OPTS_GNU, .min_pos = 1,
                          .max_pos = 1, .usage = usage};
    hx_opts_args args;
    int rc = hx_opts_parse(&spec, argc, argv, &args);
    if (rc != HX_OPTS_GO)
        return rc;
    if (!prompt) {
        usage(stderr);
        return HX_EUSAGE;
    }
    hx_device dev;
    hx_compute_dtype cdt;
    if (hx_device_parse(device, &dev) || dev == HX_DEV_AUTO || hx_compute_dtype_parse(dtype, &cdt)) {
        fprintf(stderr, "hxzoo generate: --device cpu|cuda, --dtype auto|f32|bf16\n");
        return HX_EUSAGE;
    }
    if (hx_compute_dtype_resolve(dev, cdt, &cdt)) {
        fprintf(stderr, "hxzoo generate: %s\n", hx_lasterr());
        return HX_EUSAGE;
    }
    const char *dir = args.v[0];
    hxg_model *g = NULL;
    hx_gen_stats gs = {0};
    char gpu_name[256] = "";
    hx_tok *tok = NULL;
    hx_model *m = NULL;
    int32_t *ids = NULL, *gen = NULL;
    size_t n = 0;
    int ngen = 0;
    hx_status st = hx_tok_load(tokp ? tokp : dir, &tok);
    if (!st)
        st = hx_tok_encode(tok, prompt, strlen(prompt), 1, &ids, &n);
    if (!st && n == 0)
        st = HX_FAIL(HX_EINVAL, "the prompt encodes to no tokens and the tokenizer adds no BOS");
    hx_model_config cfg;
    if (!st)
        st = hx_model_config_load(dir, &cfg);
    if (!st) {
        long ctx = (long)n + max_new;
        if (ctx > cfg.max_pos)
            ctx = cfg.max_pos;
        if (dev == HX_DEV_CUDA) {
            int rows = n < 4096 ? (int)n : 4096;
            st = hxg_probe(gpu_name, sizeof gpu_name, NULL, 0);
            if (!st)
                st = hx_model_open(dir, (int)ctx, 1, &m);
            if (!st)
                st = hxg_model_create(m, (int)ctx, rows,
                                      cdt == HX_DTYPE_BF16 ? HXG_COMPUTE_BF16 : HXG_COMPUTE_F32, 1, &g);
        } else {
            st = hx_model_load(dir, (int)ctx, &m);
        }
    }
    double t0 = hx_now();
    if (!st)
        st = g ? hxg_generate(g, ids, (int)n, (int)max_new, &gen, &ngen, &gs)
               : hx_model_generate(m, ids, (int)n, (int)max_new, &gen, &ngen, &gs);
    double dt = hx_now() - t0;
    if (!st && jsonp) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", dir);
        cJSON_AddStringToObject(j, "device", hx_device_name(dev));
        cJSON_AddStringToObject(j, "dtype", dev == HX_DEV_CUDA ? hx_compute_dtype_name(cdt) : "float32");
        if (gpu_name[0])
            cJSON_AddStringToObject(j, "device_name", gpu_name);
        cJSON_AddNumberToObject(j, "prefill_tokens", gs.prefill_tokens);
        cJSON_AddNumberToObject(j, "prefill_s", gs.prefill_s);
        cJSON_AddNumberToObject(j, "prefill_tokens_per_s", gs.prefill_s > 0 ? gs.prefill_tokens / gs.prefill_s : 0);
        cJSON_AddNumberToObject(j, "decode_tokens", gs.decode_tokens);
        cJSON_AddNumberToObject(j, "decode_s", gs.decode_s);
        cJSON_AddNumberToObject(j, "decode_tokens_per_s", gs.decode_s > 0 ? gs.decode_tokens / gs.decode_s : 0);
        if (g)
            cJSON_AddNumberToObject(j, "device_bytes_peak", (double)hxg_model_peak_bytes(g));
        cJSON *a = cJSON_AddArrayToObject(j, "ids");
        for (int i = 0; i < ngen; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(gen[i]));
        char *js = cJSON_Print(j);
        st = hx_write_file_atomic(jsonp, js, strlen(js));
        free(js);
        cJSON_Delete(j);
    }
    if (st) {
        fprintf(stderr, "hxzoo generate: %s\n", hx_lasterr());
    } else if (print_ids) {
        for (int i = 0; i < ngen; i++)
            printf(i ? " %d" : "%d", gen[i]);
        printf("\n");
    } else {
        int32_t *all = hx_malloc((n + (size_t)ngen) * sizeof *all);
        memcpy(all, ids, n * sizeof *all);
        memcpy(all + n, gen, (size_t)ngen * sizeof *all);
        char *text = hx_tok_decode(tok, all, n + (size_t)ngen, 1);
        printf("%s\n", text);
        free(text);
        free(all);
        hx_info("%d tokens in %.2f s (%.1f tokens/s)", ngen, dt, dt > 0 ? ngen / dt : 0.0);
    }
    free(ids);
    free(gen);
    hxg_model_free(g);
    hx_model_free(m);
    hx_tok_free(tok);
    return st;
}
