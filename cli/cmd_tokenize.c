/* cmd_tokenize.c - `hxzoo tokenize`: encode a text (or decode ids) with a
 * tokenizer.json, for tests and debugging. Prints the ids, or their count
 * and the SHA-256 of the ids as little-endian int32 (--sha). */
#include "cli/cli.h"
#include "model/tokenizer.h"
#include "common/hash.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: hxzoo tokenize TOKENIZER (--text STRING | --file FILE) [--special] [--sha]\n"
               "       hxzoo tokenize TOKENIZER --decode ID...\n\n"
               "TOKENIZER is a tokenizer.json[.zst] or a directory holding one.\n"
               "  --special   add the post-processor's special tokens (BOS/EOS)\n"
               "  --sha       print 'COUNT SHA256' of the ids (int32 little-endian)\n"
               "  --time      report the encoding wall and CPU time on stderr\n");
}

int cmd_tokenize(int argc, char **argv)
{
    const char *text = NULL, *file = NULL;
    int special = 0, sha = 0, decode = 0, timing = 0;
    const hx_opt opts[] = {
        HX_OPTE_STR("text", 0, &text),
        HX_OPTE_STR("file", 0, &file),
        HX_OPTE_FLAG("special", 0, &special, 1),
        HX_OPTE_FLAG("sha", 0, &sha, 1),
        HX_OPTE_FLAG("decode", 0, &decode, 1),
        HX_OPTE_FLAG("time", 0, &timing, 1),
        HX_OPTE_HELP('h'),
        HX_OPTE_END,
    };
    const hx_opts spec = {.prog = "hxzoo tokenize", .opts = opts, .style = HX_OPTS_GNU, .min_pos = 1, .usage = usage};
    hx_opts_args args;
    int rc = hx_opts_parse(&spec, argc, argv, &args);
    if (rc != HX_OPTS_GO)
        return rc;
    if (!decode && !!text == !!file) {
        usage(stderr);
        return HX_EUSAGE;
    }
    hx_tok *tok;
    hx_status st = hx_tok_load(args.v[0], &tok);
    if (st) {
        fprintf(stderr, "hxzoo tokenize: %s\n", hx_lasterr());
        return st;
    }
    if (decode) {
        int n = args.n - 1;
        int32_t *ids = hx_malloc(((size_t)n + 1) * sizeof *ids);
        for (int i = 0; i < n; i++)
            ids[i] = (int32_t)hx_opts_long("--decode", args.v[1 + i], 0, INT32_MAX);
        char *s = hx_tok_decode(tok, ids, (size_t)n, 0);
        printf("%s\n", s);
        free(s);
        free(ids);
        hx_tok_free(tok);
        return 0;
    }
    char *buf = NULL;
    size_t len;
    if (file) {
        if ((st = hx_read_file(file, 1u << 30, &buf, &len))) {
            fprintf(stderr, "hxzoo tokenize: %s\n", hx_lasterr());
            hx_tok_free(tok);
            return st;
        }
    } else {
        buf = hx_strdup(text);
        len = strlen(text);
    }
    int32_t *ids;
    size_t n;
    double t0 = hx_now();
    clock_t c0 = clock();
    st = hx_tok_encode(tok, buf, len, special, &ids, &n);
    double dt = hx_now() - t0, cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    free(buf);
    if (st) {
        fprintf(stderr, "hxzoo tokenize: %s\n", hx_lasterr());
        hx_tok_free(tok);
        return st;
    }
    if (timing)
        fprintf(stderr, "encoded %zu bytes into %zu ids in %.3f s (cpu %.3f s)\n", len, n, dt, cpu);
    if (sha) {
        char hex[65];
        /* ids are int32 in host order; hxzoo targets little-endian hosts */
        hx_sha256_hex(ids, n * sizeof *ids, hex);
        printf("%zu %s\n", n, hex);
    } else {
        for (size_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    free(ids);
    hx_tok_free(tok);
    return 0;
}
