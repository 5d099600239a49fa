/* check_logits.c - compare our CPU logits with golden logits produced by
 * transformers (tests/golden/gen_logits.py). Usage:
 *   check_logits MODEL_DIR GOLDEN.json [TOL]
 * For each stored row, err = max|ours - golden| / max|golden| over the
 * stored entries; passes (exit 0) when every row's err <= TOL (1e-4).
 * The golden text is also encoded with MODEL_DIR's tokenizer.json and must
 * give the golden ids (those of transformers' AutoTokenizer). */
#include "model/model.h"
#include "model/tokenizer.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: check_logits MODEL_DIR GOLDEN.json [TOL]\n");
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
    if (hx_model_load(argv[1], n, &m)) {
        fprintf(stderr, "%s\n", hx_lasterr());
        return 2;
    }
    const hx_model_config *c = hx_model_cfg(m);
    float *h = hx_malloc((size_t)n * c->dim * sizeof(float));
    float *lg = hx_malloc((size_t)n * c->vocab * sizeof(float));
    if (hx_model_forward(m, ids, n, h)) {
        fprintf(stderr, "%s\n", hx_lasterr());
        return 2;
    }
    hx_model_logits(m, h, n, lg);
    double worst = 0, worst_abs = 0;
    int nrows = 0, bad = 0;
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
    printf("%s: %d rows, %d tokens, max abs diff %.3g, max rel diff %.3g (tol %.g), %s modules "
           "from HXQ: %d\n",
           argv[1], nrows, n, worst_abs, worst, tol, bad ? "FAIL" : "ok", c->hxq_modules);
    hx_model_free(m);
    free(h);
    free(lg);
    free(ids);
    cJSON_Delete(j);
    return bad ? 1 : 0;
}
