/* cmd_generate.c - `hxzoo generate MODEL_DIR --prompt TEXT`: greedy text
 * generation with the CPU forward pass (smoke tests and demos). The prompt
 * is encoded with the model's tokenizer.json (BOS as its post-processor
 * says); the prompt and continuation are printed as text. */
#include "cli/cli.h"
#include "model/model.h"
#include "model/tokenizer.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: hxzoo generate MODEL_DIR --prompt TEXT [--max-tokens N] [--ids]\n\n"
               "Greedy generation on the CPU from a dense or HXQ model directory.\n"
               "  --prompt TEXT     the prompt (may be empty: BOS only)\n"
               "  --max-tokens N    new tokens at most (default 64)\n"
               "  --tokenizer PATH  tokenizer.json to use (default MODEL_DIR's)\n"
               "  --ids             print the generated ids instead of text\n");
}

int cmd_generate(int argc, char **argv)
{
    static const struct option opts[] = {{"prompt", 1, 0, 'p'}, {"max-tokens", 1, 0, 'n'},
                                         {"tokenizer", 1, 0, 't'}, {"ids", 0, 0, 'i'},
                                         {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *prompt = NULL, *tokp = NULL;
    long max_new = 64;
    int print_ids = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': prompt = optarg; break;
        case 'n': max_new = cli_parse_long("--max-tokens", optarg, 1, 1 << 20); break;
        case 't': tokp = optarg; break;
        case 'i': print_ids = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return HX_EUSAGE;
        }
    }
    if (optind + 1 != argc || !prompt) {
        usage(stderr);
        return HX_EUSAGE;
    }
    const char *dir = argv[optind];
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
        st = hx_model_load(dir, (int)ctx, &m);
    }
    double t0 = hx_now();
    if (!st)
        st = hx_model_generate(m, ids, (int)n, (int)max_new, &gen, &ngen);
    double dt = hx_now() - t0;
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
    hx_model_free(m);
    hx_tok_free(tok);
    return st;
}
