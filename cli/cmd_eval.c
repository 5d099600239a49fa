/* cmd_eval.c - `hxzoo eval MODEL_DIR [--base BASE_DIR] --text FILE
 * --protocol NAME`: perplexity of a dense or HXQ model with one of the
 * named protocols (helix, gptq, sliding), and with --base the dPPL, mean KL
 * divergence and top-1 agreement against the base model, through the
 * evaluation engine (eval/eval.h) on the CPU or the GPU (--device). Prints
 * a table and writes a JSON receipt. */
#include "cli/cli.h"
#include "eval/eval.h"
#include "common/hash.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hxzoo eval MODEL_DIR [--base BASE_DIR] --text FILE --protocol NAME [options]\n\n"
            "Perplexity with a named protocol, evaluated layer by layer with the weights in\n"
            "their stored form (docs/EVAL.md). FILE is the raw WikiText-2 test file (wiki.test.raw) or any text\n"
            "with the same line layout.\n"
            "  --protocol NAME   helix (8193 tokens, 4 x 2048), gptq (all, 2048), sliding\n"
            "  --base DIR        also run DIR in lockstep: dPPL, KL(base||model), top-1\n"
            "  --device NAME     auto (default: cuda when a usable device is there, else\n"
            "                    cpu), cpu, or cuda (fails if there is no usable device)\n"
            "  --dtype NAME      auto (default: f32 on the CPU, bf16 on CUDA), f32, or bf16\n"
            "                    (CUDA only: BF16 inputs of the matrix products, FP32 sums)\n"
            "  --mem-budget MIB  activations + logits memory per window group (default:\n"
            "                    min(2048, a third of the available memory))\n"
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

int cmd_eval(int argc, char **argv)
{
    const char *base = NULL, *textp = NULL, *proto = NULL, *tokp = NULL, *receipt = NULL;
    const char *device = "auto", *dtype = "auto";
    long budget_mib = 0;
    int plan_only = 0, json = 0;
    long seq = -1, stride = -1, ntok = -1, maxw = 0;
    const hx_opt opts[] = {
        HX_OPTE_STR("base", 0, &base),
        HX_OPTE_STR("text", 0, &textp),
        HX_OPTE_STR("protocol", 0, &proto),
        HX_OPTE_LONG("seq-len", &seq, 2, 1 << 20),
        HX_OPTE_LONG("context", &seq, 2, 1 << 20),
        HX_OPTE_LONG("stride", &stride, 1, 1 << 20),
        HX_OPTE_LONG("n-tokens", &ntok, 1, 1L << 40),
        HX_OPTE_LONG("max-windows", &maxw, 1, 1L << 30),
        HX_OPTE_STR("tokenizer", 0, &tokp),
        HX_OPTE_STR("receipt", 0, &receipt),
        HX_OPTE_FLAG("plan", 0, &plan_only, 1),
        HX_OPTE_FLAG("json", 0, &json, 1),
        HX_OPTE_STR("device", 0, &device),
        HX_OPTE_LONG("mem-budget", &budget_mib, 16, 1L << 24),
        HX_OPTE_HELP('h'),
        HX_OPTE_STR("dtype", 0, &dtype),
        HX_OPTE_END,
    };
    const hx_opts spec = {.prog = "hxzoo eval", .opts = opts, .style = HX_OPTS_GNU, .min_pos = 1,
                          .max_pos = 1, .usage = usage};
    hx_opts_args args;
    int rc = hx_opts_parse(&spec, argc, argv, &args);
    if (rc != HX_OPTS_GO)
        return rc;
    hx_protocol pr;
    if (!textp || !proto) {
        usage(stderr);
        return HX_EUSAGE;
    }
    if (hx_protocol_parse(proto, &pr)) {
        fprintf(stderr, "hxzoo eval: unknown protocol '%s' (helix, gptq, sliding)\n", proto);
        return HX_EUSAGE;
    }
    hx_engine_opts eo;
    hx_engine_opts_default(&eo);
    if (hx_device_parse(device, &eo.device)) {
        fprintf(stderr, "hxzoo eval: unknown device '%s' (auto, cpu, cuda)\n", device);
        return HX_EUSAGE;
    }
    if (hx_compute_dtype_parse(dtype, &eo.dtype)) {
        fprintf(stderr, "hxzoo eval: unknown dtype '%s' (auto, f32, bf16)\n", dtype);
        return HX_EUSAGE;
    }
    eo.mem_budget = (uint64_t)budget_mib << 20;
    const char *dir = args.v[0];
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
    hx_eval_plan plan = {0};
    char *raw = NULL;
    size_t rlen;
    hx_status st = hx_read_file(textp, 1u << 30, &raw, &rlen);
    if (!st)
        st = hx_tok_load(tokp ? tokp : dir, &tok);
    if (!st)
        st = hx_eval_plan_build(tok, raw, rlen, &o, &plan);
    free(raw);
    if (!st)
        hx_eval_plan_trim(&plan, o.max_windows);
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
    eo.progress = !json;
    hx_eval_result r;
    if (!st) {
        hx_info("eval %s: %ld windows, %ld scored tokens", proto, plan.n_windows, plan.n_scored);
        st = hx_eval_models(dir, base, &plan, &eo, &r);
    }
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
            printf("wall       %10.2f s  (%.1f tokens/s, %s %s%s%s, %d group%s, peak RSS %.2f GB)\n",
                   r.seconds, r.tokens_per_s, r.device, r.dtype, r.device_name[0] ? ", " : "",
                   r.device_name, r.groups, r.groups == 1 ? "" : "s", r.peak_rss / 1e9);
        }
        if (receipt) {
            st = hx_write_file_atomic(receipt, js, strlen(js));
            if (st)
                fprintf(stderr, "hxzoo eval: %s\n", hx_lasterr());
        } else if (json)
            printf("%s\n", js);
        free(js);
    }
    hx_eval_plan_free(&plan);
    hx_tok_free(tok);
    return st;
}
