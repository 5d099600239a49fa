/* check_logits.c - compare our CPU logits with golden logits produced by
 * transformers (tests/golden/gen_logits.py). Usage:
 *   check_logits MODEL_DIR GOLDEN.json [TOL [GREEDY.json]]
 * The logits are computed three ways (one forward call; prefill then one
 * token at a time; layer order in a batch, as the evaluation engine runs).
 * For each stored row, err = max|ours - golden| / max|golden| over the
 * stored entries; passes (exit 0) when every row's err <= TOL (1e-4).
 * The golden text is also encoded with MODEL_DIR's tokenizer.json and must
 * give the golden ids (those of transformers' AutoTokenizer). GREEDY.json
 * ({"prompt_ids", "ids"}): greedy generation from the prompt must give
 * exactly transformers' ids. */
#include "model/model.h"
#include "model/tokenizer.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const MODES[] = {"one forward call", "prefill + one token at a time",
                                     "layer order, in a batch with a prefix of itself"};

/* all logits of ids[0..n) computed three ways: 0 one token-order call;
 * 1 the first half, then one token at a time (the KV cache and the
 * recurrent states carried); 2 layer order, as the evaluation engine runs
 * it, in a batch that also holds the first half as its own sequence */
static hx_status logits_by(hx_model *m, int mode, const int32_t *ids, int n, float *lg)
{
    const hx_model_config *c = hx_model_cfg(m);
    float *h = hx_malloc((size_t)n * c->dim * sizeof(float));
    hx_status s = HX_OK;
    hx_model_reset(m);
    if (mode == 0) {
        s = hx_model_forward(m, ids, n, h);
    } else if (mode == 1) {
        int k = n / 2;
        s = hx_model_forward(m, ids, k, h);
        for (int t = k; t < n && !s; t++)
            s = hx_model_forward(m, ids + t, 1, h + (size_t)t * c->dim);
    } else {
        int k = n / 2, lens[2] = {k, n}, *rows = hx_malloc((size_t)n * sizeof *rows);
        int32_t *bids = hx_malloc((size_t)(n + k) * sizeof *bids);
        memcpy(bids, ids, (size_t)k * sizeof *ids);
        memcpy(bids + k, ids, (size_t)n * sizeof *ids);
        if (!(s = hx_model_batch_begin(m, bids, lens, 2))) {
            for (int l = 0; l < c->n_layers; l++)
                hx_model_batch_layer(m, l);
            for (int r = 0; r < n; r++)
                rows[r] = k + r; /* the full sequence's rows */
            memcpy(h, hx_model_batch_final(m, rows, n), (size_t)n * c->dim * sizeof(float));
        }
        free(rows);
        free(bids);
    }
    if (!s)
        hx_model_logits(m, h, n, lg);
    free(h);
    return s;
}

static int compare(const char *dir, const char *mode, const cJSON *rows, const float *lg,
                   const hx_model_config *c, int n, double tol)
{
    double worst = 0, worst_abs = 0;
    int nrows = 0, bad = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, rows)
    {
        int p = cJSON_GetObjectItem(e, "pos")->valueint;
        const cJSON *ix = cJSON_GetObjectItem(e, "idx"), *vv = cJSON_GetObjectItem(e, "val");
        double mx = 0, md = 0;
        const cJSON *a = ix->child, *b = vv->child;
        for (; a && b; a = a->next, b = b->next) {
            double g = b->valuedouble, o = lg[(size_t)p * c->vocab + a->valueint];
            mx = fmax(mx, fabs(g));
            md = fmax(md, fabs(g - o));
        }
        double rel = mx > 0 ? md / mx : md;
        worst = fmax(worst, rel);
        worst_abs = fmax(worst_abs, md);
        bad += rel > tol;
        nrows++;
    }
    printf("%s: %s: %d rows, %d tokens, max abs diff %.3g, max rel diff %.3g (tol %.g), %s modules "
           "from HXQ: %d\n",
           dir, mode, nrows, n, worst_abs, worst, tol, bad ? "FAIL" : "ok", c->hxq_modules);
    return bad ? 1 : 0;
}

static int check_greedy(hx_model *m, const char *path)
{
    char *text;
    size_t len;
    if (hx_read_file(path, 1u << 20, &text, &len)) {
        fprintf(stderr, "%s\n", hx_lasterr());
        return 1;
    }
    cJSON *j = cJSON_Parse(text), *e;
    free(text);
    const cJSON *jp = cJSON_GetObjectItem(j, "prompt_ids"), *jg = cJSON_GetObjectItem(j, "ids");
    int np = cJSON_GetArraySize(jp), ng = cJSON_GetArraySize(jg), i = 0;
    if (!j || np < 1 || ng < 1) {
        fprintf(stderr, "%s: bad greedy golden\n", path);
        return 1;
    }
    int32_t *p = hx_malloc((size_t)np * sizeof *p), *g = hx_malloc((size_t)ng * sizeof *g), *out;
    cJSON_ArrayForEach(e, jp) p[i++] = (int32_t)e->valuedouble;
    i = 0;
    cJSON_ArrayForEach(e, jg) g[i++] = (int32_t)e->valuedouble;
    int nout = 0, same = 0;
    if (hx_model_generate(m, p, np, ng, &out, &nout, NULL) == HX_OK) {
        while (same < nout && same < ng && out[same] == g[same])
            same++;
        free(out);
    } else {
        fprintf(stderr, "%s\n", hx_lasterr());
    }
    printf("%s: greedy: %d of %d generated ids equal transformers' (%d generated), %s\n", path, same, ng,
           nout, same == ng && nout == ng ? "ok" : "FAIL");
    free(p);
    free(g);
    cJSON_Delete(j);
    return same == ng && nout == ng ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: check_logits MODEL_DIR GOLDEN.json [TOL [GREEDY.json]]\n");
        return 2;
    }
    double tol = argc > 3 ? atof(argv[3]) : 1e-4;
    char *text;
    size_t len;
    if (hx_read_file(argv[2], 64u << 20, &text, &len)) {
        fprintf(stderr, "%s\n", hx_lasterr());
        return 2;
    }
    cJSON *j = cJSON_Parse(text);
    free(text);
    const cJSON *jids = cJSON_GetObjectItem(j, "ids"), *rows = cJSON_GetObjectItem(j, "rows"), *e;
    int n = cJSON_GetArraySize(jids);
    if (!j || n < 1 || !cJSON_IsArray(rows)) {
        fprintf(stderr, "%s: bad golden file\n", argv[2]);
        return 2;
    }
    int32_t *ids = hx_malloc((size_t)n * sizeof *ids);
    int i = 0;
    cJSON_ArrayForEach(e, jids) ids[i++] = (int32_t)e->valuedouble;
    const cJSON *jt = cJSON_GetObjectItem(j, "text");
    hx_tok *tok;
    if (cJSON_IsString(jt) && hx_tok_load(argv[1], &tok) == HX_OK) {
        int32_t *tids;
        size_t tn;
        int same = hx_tok_encode(tok, jt->valuestring, strlen(jt->valuestring), 1, &tids, &tn) == HX_OK &&
                   tn == (size_t)n && !memcmp(tids, ids, tn * sizeof *ids);
        printf("%s: tokenizer ids %s transformers'\n", argv[1], same ? "identical to" : "DIFFER from");
        if (same)
            free(tids);
        hx_tok_free(tok);
        if (!same)
            return 1;
    }
    hx_model *m;
    if (hx_model_open(argv[1], n, 2 * n, &m)) {
        fprintf(stderr, "%s\n", hx_lasterr());
        return 2;
    }
    const hx_model_config *c = hx_model_cfg(m);
    float *lg = hx_malloc((size_t)n * c->vocab * sizeof(float));
    int bad = 0;
    for (int mode = 0; mode < 3; mode++) {
        if (logits_by(m, mode, ids, n, lg)) {
            fprintf(stderr, "%s\n", hx_lasterr());
            return 2;
        }
        bad |= compare(argv[1], MODES[mode], rows, lg, c, n, tol);
    }
    if (argc > 4) /* GREEDY.json: {"prompt_ids": [...], "ids": [...]} */
        bad |= check_greedy(m, argv[4]);
    hx_model_free(m);
    free(lg);
    free(ids);
    cJSON_Delete(j);
    return bad ? 1 : 0;
}
