/* cmd_eval.c - `hxzoo eval MODEL_DIR [--base BASE_DIR] --text FILE
 * --protocol NAME`: perplexity of a dense or HXQ model on the CPU with one
 * of the named protocols (helix, gptq, sliding), and with --base the dPPL,
 * mean KL divergence and top-1 agreement against the base model. Prints a
 * table and writes a JSON receipt. --device cuda runs the forward passes on
 * the GPU (gpu/gpu_model.h; both models resident at once), the reductions
 * stay on the CPU; without a usable device it refuses (never falls back). */
#include "cli/cli.h"
#include "gpu/gpu_model.h"
#include "verify/eval.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hxzoo eval MODEL_DIR [--base BASE_DIR] --text FILE --protocol NAME [options]\n\n"
            "Perplexity (float32; CPU, or GPU with --device cuda) with a named protocol\n"
            "(docs/EVAL.md). FILE is the raw WikiText-2 test file (wiki.test.raw) or any text\n"
            "with the same line layout.\n"
            "  --protocol NAME   helix (8193 tokens, 4 x 2048), gptq (all, 2048), sliding\n"
            "  --base DIR        also run DIR in lockstep: dPPL, KL(base||model), top-1\n"
            "  --device NAME     cpu (default) or cuda (GPU forward pass, float32; fails if\n"
            "                    there is no usable CUDA device)\n"
            "  --seq-len N       window length for helix/gptq (2048)\n"
            "  --context N       sliding: context length (2048)\n"
            "  --stride N        sliding: stride (512)\n"
            "  --n-tokens N      helix: scored tokens (8192)\n"
            "  --max-windows N   stop after N windows (quick runs; noted in the receipt)\n"
            "  --tokenizer PATH  tokenizer.json (default MODEL_DIR's)\n"
            "  --receipt FILE    write the JSON receipt there (default: stdout after the table)\n"
            "  --plan            only tokenize and print the token/window counts\n"
            "  --json            print only the JSON receipt on stdout\n");
}

static hx_status gpu_forward(void *side, const int32_t *ids, int n, float *hidden)
{
    hxg_model_reset(side);
    return hxg_model_forward(side, ids, n, hidden);
}

static hx_status gpu_logits(void *side, const float *hidden, int rows, float *logits)
{
    return hxg_model_logits(side, hidden, rows, logits);
}

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"base", 1, 0, 'b'},      {"text", 1, 0, 't'},       {"protocol", 1, 0, 'p'},
        {"seq-len", 1, 0, 'L'},   {"context", 1, 0, 'C'},    {"stride", 1, 0, 'S'},
        {"n-tokens", 1, 0, 'N'},  {"max-windows", 1, 0, 'W'}, {"tokenizer", 1, 0, 'k'},
        {"receipt", 1, 0, 'r'},   {"plan", 0, 0, 'P'},       {"json", 0, 0, 'j'},
        {"device", 1, 0, 'd'},    {"help", 0, 0, 'h'},       {0, 0, 0, 0}};
    const char *base = NULL, *textp = NULL, *proto = NULL, *tokp = NULL, *receipt = NULL;
    const char *device = "cpu";
    int plan_only = 0, json = 0, c;
    long seq = -1, stride = -1, ntok = -1, maxw = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': base = optarg; break;
        case 't': textp = optarg; break;
        case 'p': proto = optarg; break;
        case 'L': case 'C': seq = cli_parse_long(c == 'L' ? "--seq-len" : "--context", optarg, 2, 1 << 20); break;
        case 'S': stride = cli_parse_long("--stride", optarg, 1, 1 << 20); break;
        case 'N': ntok = cli_parse_long("--n-tokens", optarg, 1, 1L << 40); break;
        case 'W': maxw = cli_parse_long("--max-windows", optarg, 1, 1L << 30); break;
        case 'k': tokp = optarg; break;
        case 'r': receipt = optarg; break;
        case 'P': plan_only = 1; break;
        case 'j': json = 1; break;
        case 'd': device = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return HX_EUSAGE;
        }
    }
    hx_protocol pr;
    if (optind + 1 != argc || !textp || !proto) {
        usage(stderr);
        return HX_EUSAGE;
    }
    if (hx_protocol_parse(proto, &pr)) {
        fprintf(stderr, "hxzoo eval: unknown protocol '%s' (helix, gptq, sliding)\n", proto);
        return HX_EUSAGE;
    }
    int cuda = !strcmp(device, "cuda");
    if (!cuda && strcmp(device, "cpu")) {
        fprintf(stderr, "hxzoo eval: unknown device '%s' (cpu, cuda)\n", device);
        return HX_EUSAGE;
    }
    const char *dir = argv[optind];
    hx_eval_opts o;
    hx_eval_opts_default(&o, pr);
    if (seq > 0)
        o.seq_len = (int)seq;
    if (stride > 0)
        o.stride = (int)stride;
    if (ntok > 0)
        o.n_tokens = ntok;
    o.max_windows = (int)maxw;

    hx_tok *tok = NULL;
    hx_model *m = NULL, *b = NULL;
    hx_eval_plan plan = {0};
    char *raw = NULL;
    size_t rlen;
    hx_status st = hx_read_file(textp, 1u << 30, &raw, &rlen);
    if (!st)
        st = hx_tok_load(tokp ? tokp : dir, &tok);
    if (!st)
        st = hx_eval_plan_build(tok, raw, rlen, &o, &plan);
    free(raw);
    if (!st && o.max_windows && plan.n_windows > o.max_windows) {
        plan.n_windows = o.max_windows;
        plan.n_scored = plan.n_forward = 0;
        for (long w = 0; w < plan.n_windows; w++) {
            plan.n_scored += plan.w[w].s1 - plan.w[w].s0;
            plan.n_forward += plan.w[w].n;
        }
    }
    if (!st && plan_only) {
        char hex[65];
        hx_sha256_hex(plan.ids, (size_t)plan.n_ids * sizeof *plan.ids, hex);
        printf("protocol %s: text %ld bytes sha256 %s\n", proto, plan.text_bytes, plan.text_sha256);
        printf("ids %ld sha256 %s\nwindows %ld scored %ld forward %ld\n", plan.n_ids, hex,
               plan.n_windows, plan.n_scored, plan.n_forward);
        hx_eval_plan_free(&plan);
        hx_tok_free(tok);
        return 0;
    }
    hxg_model *gm = NULL, *gb = NULL;
    char gdesc[512] = "";
    if (!st && cuda && hxg_probe(gdesc, sizeof gdesc)) {
        fprintf(stderr, "hxzoo eval: no CUDA device: %s\n", hx_lasterr());
        hx_eval_plan_free(&plan);
        hx_tok_free(tok);
        return HX_ENOTFOUND;
    }
    double t0 = hx_now();
    if (!st)
        st = hx_model_load(dir, plan.max_len, &m);
    if (!st && base)
        st = hx_model_load(base, plan.max_len, &b);
    if (!st && cuda) {
        st = hxg_model_create(m, plan.max_len, &gm);
        if (!st && b)
            st = hxg_model_create(b, plan.max_len, &gb);
        if (!st)
            hx_info("eval on %s: %.1f MiB on the device", gdesc,
                    (hxg_model_bytes(gm) + hxg_model_bytes(gb)) / 1048576.0);
    }
    double load_s = hx_now() - t0;
    hx_eval_result r;
    if (!st) {
        hx_info("eval %s: %ld windows, %ld scored tokens (models loaded in %.1f s)", proto,
                plan.n_windows, plan.n_scored, load_s);
        if (cuda) {
            static const hx_eval_ops gpu_ops = {"cuda", gpu_forward, gpu_logits};
            st = hx_eval_run_ops(&gpu_ops, gm, hx_model_cfg(m), gb, b ? hx_model_cfg(b) : NULL,
                                 &plan, &r);
        } else {
            st = hx_eval_run(m, b, &plan, &r);
        }
    }
    hxg_model_free(gm);
    hxg_model_free(gb);
    if (st) {
        fprintf(stderr, "hxzoo eval: %s\n", hx_lasterr());
    } else {
        char *js = hx_eval_receipt(&plan, &o, &r, dir, base ? base : "", textp);
        if (!json) {
            printf("protocol   %s (%ld ids, %ld windows, %ld scored tokens)\n", proto, plan.n_ids,
                   plan.n_windows, plan.n_scored);
            printf("%-10s %12s\n", "model", "PPL");
            printf("%-10s %12.4f\n", "model", r.model.ppl);
            if (r.have_base) {
                printf("%-10s %12.4f\n", "base", r.base.ppl);
                printf("dPPL       %+12.4f (%+.3f%%)\n", r.model.ppl - r.base.ppl,
                       (r.model.ppl - r.base.ppl) / r.base.ppl * 100);
                printf("KLD mean   %12.6f\n", r.kld_mean);
                printf("top-1      %12.4f\n", r.top1);
            }
            printf("wall       %10.2f s  (%.1f tokens/s, %s)\n", r.seconds, r.tokens_per_s,
                   r.device);
        }
        if (receipt) {
            st = hx_write_file_atomic(receipt, js, strlen(js));
            if (st)
                fprintf(stderr, "hxzoo eval: %s\n", hx_lasterr());
        } else if (json)
            printf("%s\n", js);
        free(js);
    }
    hx_model_free(m);
    hx_model_free(b);
    hx_eval_plan_free(&plan);
    hx_tok_free(tok);
    return st;
}
