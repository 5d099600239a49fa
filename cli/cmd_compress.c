/* cmd_compress.c - `hxzoo compress SRC_DIR OUT_DIR`: parse options, call
 * hxq_compress, print the per-tensor table (or the JSON receipt). */
#include "cli/cli.h"
#include "compress/compress.h"
#include "common/pool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hxzoo compress SRC_DIR OUT_DIR [options]\n\n"
            "Compress a Hugging Face model directory (config.json + safetensors, single or\n"
            "sharded; BF16, F16 or F32) into HXQ, loadable by helix-substrate 0.3.3.\n"
            "An interrupted run resumes where it stopped.\n\n"
            "options:\n"
            "  --k N                  codebook size, 2..256 (default 256)\n"
            "  --sidecar-fraction F   max share of weights kept exactly in the sidecar\n"
            "                         (default 0.001 = 0.1%%; 0 disables)\n"
            "  --compat-0.3.3         helix-substrate 0.3.3's sidecar: two-tailed percentile\n"
            "                         outliers capped at 512 (256), values rounded to fp16\n"
            "  --exact-fit            exact DP codebook on every distinct value (slower)\n"
            "  --exact-f16            store exact tensors as F16 like 0.3.3 (default: source dtype)\n"
            "  --max-shard-size BYTES shard the output above this size (suffixes K M G; default 5G)\n"
            "  --threads N            worker threads (default: all CPUs)\n"
            "  --quant-method NAME    hxq (default), helix or cdna_v3\n"
            "  --force                ignore a previous partial run in OUT_DIR\n"
            "  --json                 print the JSON receipt instead of the table\n");
}

static int exact_fit(void *dest, const char *value)
{
    (void)value;
    ((hxq_params *)dest)->fit = HXQ_FIT_EXACT;
    return HX_OPTS_GO;
}

static int quant_method(void *dest, const char *m)
{
    if (strcmp(m, "hxq") && strcmp(m, "helix") && strcmp(m, "cdna_v3")) {
        fprintf(stderr, "hxzoo compress: --quant-method must be hxq, helix or cdna_v3\n");
        return HX_EUSAGE;
    }
    *(const char **)dest = m;
    return HX_OPTS_GO;
}

static void print_table(const hxq_report *r)
{
    printf("%-56s %-13s %9s %10s %9s %8s %6s %7s\n", "tensor", "shape", "cosine", "rel_mse",
           "max_err", "sidecar", "bpw", "sec");
    for (size_t i = 0; i < r->n; i++) {
        const hxq_tensor_report *t = &r->t[i];
        if (t->route != HXQ_ROUTE_COMPRESS)
            continue;
        char shape[32];
        snprintf(shape, sizeof shape, "%lldx%lld", (long long)t->rows, (long long)t->cols);
        printf("%-56.56s %-13s %9.6f %10.3e %9.2e %8llu %6.3f %7.3f\n", t->name, shape,
               t->stats.cosine, t->stats.rel_mse, t->stats.max_abs_err,
               (unsigned long long)t->stats.sidecar_n, t->stats.bits_per_weight, t->stats.seconds);
    }
    size_t nc = 0, ne = 0;
    for (size_t i = 0; i < r->n; i++)
        r->t[i].route == HXQ_ROUTE_COMPRESS ? nc++ : ne++;
    printf("\n%zu tensors compressed, %zu kept dense; %.1f MB -> %.1f MB (%.2fx); "
           "cosine min %.6f mean %.6f\n",
           nc, ne, r->src_bytes / 1e6, r->out_bytes / 1e6,
           r->out_bytes ? (double)r->src_bytes / (double)r->out_bytes : 0.0, r->min_cosine,
           r->mean_cosine);
    printf("%.2f s, %.1f M weights/s, peak RSS %.1f MB, %d shard(s)\n", r->seconds,
           r->seconds > 0 ? (r->compressed_params + r->exact_params) / r->seconds / 1e6 : 0.0,
           r->peak_rss / 1e6, r->shards);
}

int cmd_compress(int argc, char **argv)
{
    hxq_options o;
    hxq_options_default(&o);
    o.max_shard_bytes = 5000000000ull;
    const hx_opt opts[] = {
        HX_OPTE_INT("k", &o.params.k, 2, 256),
        HX_OPTE_DOUBLE("sidecar-fraction", &o.params.sidecar_fraction, 0, 0.5),
        HX_OPTE_FLAG("compat-0.3.3", 0, &o.params.compat_033, 1),
        HX_OPTE_CALL0("exact-fit", 0, &o.params, exact_fit),
        HX_OPTE_FLAG("exact-f16", 0, &o.exact_f16, 1),
        HX_OPTE_SIZE("max-shard-size", &o.max_shard_bytes),
        HX_OPTE_INT("threads", &o.params.threads, 1, HX_POOL_MAX_THREADS),
        HX_OPTE_CALL("quant-method", &o.quant_method, quant_method),
        HX_OPTE_FLAG("force", 0, &o.force, 1),
        HX_OPTE_FLAG("json", 0, &o.json, 1),
        HX_OPTE_HELP(0),
        HX_OPTE_END,
    };
    const hx_opts spec = {.prog = "hxzoo compress", .opts = opts, .style = HX_OPTS_GNU, .min_pos = 2,
                          .max_pos = 2, .usage = usage};
    hx_opts_args args;
    int rc = hx_opts_parse(&spec, argc, argv, &args);
    if (rc != HX_OPTS_GO)
        return rc;
    const char *src = args.v[0], *dst = args.v[1];
    size_t cl = 16;
    for (int i = 0; i < argc; i++)
        cl += strlen(argv[i]) + 1;
    char *cmdline = hx_malloc(cl);
    strcpy(cmdline, "hxzoo");
    for (int i = 0; i < argc; i++) {
        strcat(cmdline, " ");
        strcat(cmdline, argv[i]);
    }
    o.command_line = cmdline;
    hxq_report rep;
    hx_status st = hxq_compress(src, dst, &o, &rep);
    if (st) {
        fprintf(stderr, "hxzoo compress: %s: %s\n", hx_strerror(st), hx_lasterr());
        free(cmdline);
        hxq_report_free(&rep);
        return st;
    }
    if (o.json) {
        char *js = hxq_report_json(&rep, &o, src);
        puts(js);
        free(js);
    } else if (hx_log_level > 0) {
        print_table(&rep);
    }
    hxq_report_free(&rep);
    free(cmdline);
    return 0;
}
