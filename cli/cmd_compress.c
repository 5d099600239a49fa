/* cmd_compress.c - `hxzoo compress SRC_DIR OUT_DIR`: parse options, call
 * hxq_compress, print the per-tensor table (or the JSON receipt). */
#include "cli/cli.h"
#include "compress/compress.h"

#include <getopt.h>
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

static uint64_t parse_size(const char *v)
{
    char *end;
    double d = strtod(v, &end);
    double mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1e3, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1e6, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1e9, end++;
    if (*end == 'B')
        end++;
    if (end == v || *end || !(d >= 0)) {
        fprintf(stderr, "hxzoo compress: --max-shard-size wants a size like 5G, got '%s'\n", v);
        exit(HX_EUSAGE);
    }
    return (uint64_t)(d * mul);
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
    static const struct option opts[] = {
        {"k", required_argument, 0, 'k'},
        {"sidecar-fraction", required_argument, 0, 's'},
        {"compat-0.3.3", no_argument, 0, 'c'},
        {"exact-fit", no_argument, 0, 'e'},
        {"exact-f16", no_argument, 0, 'h'},
        {"max-shard-size", required_argument, 0, 'm'},
        {"threads", required_argument, 0, 't'},
        {"quant-method", required_argument, 0, 'q'},
        {"force", no_argument, 0, 'f'},
        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'H'},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k': o.params.k = (int)cli_parse_long("--k", optarg, 2, 256); break;
        case 's': o.params.sidecar_fraction = cli_parse_double("--sidecar-fraction", optarg, 0, 0.5); break;
        case 'c': o.params.compat_033 = 1; break;
        case 'e': o.params.fit = HXQ_FIT_EXACT; break;
        case 'h': o.exact_f16 = 1; break;
        case 'm': o.max_shard_bytes = parse_size(optarg); break;
        case 't': o.params.threads = (int)cli_parse_long("--threads", optarg, 1, 256); break;
        case 'q':
            if (strcmp(optarg, "hxq") && strcmp(optarg, "helix") && strcmp(optarg, "cdna_v3")) {
                fprintf(stderr, "hxzoo compress: --quant-method must be hxq, helix or cdna_v3\n");
                return HX_EUSAGE;
            }
            o.quant_method = optarg;
            break;
        case 'f': o.force = 1; break;
        case 'j': o.json = 1; break;
        case 'H': usage(stdout); return 0;
        default: usage(stderr); return HX_EUSAGE;
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        return HX_EUSAGE;
    }
    const char *src = argv[optind], *dst = argv[optind + 1];
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
