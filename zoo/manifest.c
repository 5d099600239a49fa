/* manifest.c - load and validate the zoo manifest (JSON, docs/ZOO.md):
 * every field checked with a message naming the model and the field. */
#include "zoo/zoo.h"
#include "common/hash.h"

#include <cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_commit(const char *s)
{
    if (strlen(s) != 40)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static int repo_ok(const char *s)
{
    const char *sl = strchr(s, '/');
    return sl && sl != s && sl[1] && !strchr(sl + 1, '/') && !strstr(s, "..");
}

char *zoo_default_manifest(void)
{
    const char *env = getenv("HXZOO_MANIFEST");
    if (env && *env)
        return hx_strdup(env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        for (int up = 0; up < 4; up++) {
            char *sl = strrchr(exe, '/');
            if (!sl)
                break;
            *sl = 0;
            char *p = hx_asprintf("%s/zoo/manifest.json", exe);
            if (hx_file_exists(p))
                return p;
            free(p);
        }
    }
    return hx_strdup("zoo/manifest.json");
}

static hx_status get_str(const cJSON *o, const char *key, int required, const char *what, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        if (required)
            return HX_FAIL(HX_EFORMAT, "%s: missing \"%s\"", what, key);
        *out = NULL;
        return HX_OK;
    }
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return HX_FAIL(HX_EFORMAT, "%s: \"%s\" must be a non-empty string", what, key);
    *out = hx_strdup(v->valuestring);
    return HX_OK;
}

static hx_status get_num(const cJSON *o, const char *key, double def, double lo, double hi,
                         const char *what, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        *out = def;
        return HX_OK;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi)
        return HX_FAIL(HX_EFORMAT, "%s: \"%s\" must be a number in [%g, %g]", what, key, lo, hi);
    *out = v->valuedouble;
    return HX_OK;
}

static hx_status parse_model(const cJSON *j, const char *file, zoo_model *m)
{
    hx_status st;
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(j, "name");
    char *what = hx_asprintf("%s: model \"%s\"", file, cJSON_IsString(nm) ? nm->valuestring : "?");
    double d;
    if ((st = get_str(j, "name", 1, what, &m->name)) || (st = get_str(j, "source", 1, what, &m->source)) ||
        (st = get_str(j, "revision", 1, what, &m->revision)) || (st = get_str(j, "target", 1, what, &m->target)) ||
        (st = get_str(j, "architecture", 1, what, &m->arch)) || (st = get_str(j, "license", 1, what, &m->license)) ||
        (st = get_str(j, "pipeline_tag", 0, what, &m->pipeline_tag)))
        goto out;
    if (!m->pipeline_tag)
        m->pipeline_tag = hx_strdup("text-generation");
    if (!repo_ok(m->source) || !repo_ok(m->target)) {
        st = HX_FAIL(HX_EFORMAT, "%s: source and target must be ORG/NAME", what);
        goto out;
    }
    m->pinned = is_commit(m->revision);
    /* a source in another layout than transformers' (docs/ZOO.md) */
    if ((st = get_str(j, "layout", 0, what, &m->layout)))
        goto out;
    if (m->layout && strcmp(m->layout, "mamba_ssm")) {
        st = HX_FAIL(HX_EFORMAT, "%s: layout \"%s\" (mamba_ssm, or none for transformers' own)", what, m->layout);
        goto out;
    }
    const cJSON *tk = cJSON_GetObjectItemCaseSensitive(j, "tokenizer");
    if (m->layout && !cJSON_IsObject(tk)) {
        st = HX_FAIL(HX_EFORMAT, "%s: layout mamba_ssm needs a \"tokenizer\" object (repo, revision): "
                                 "mamba_ssm checkpoints come without one", what);
        goto out;
    }
    if (tk && (!m->layout || (st = get_str(tk, "repo", 1, what, &m->tok_repo)) ||
               (st = get_str(tk, "revision", 0, what, &m->tok_revision)))) {
        if (!st)
            st = HX_FAIL(HX_EFORMAT, "%s: \"tokenizer\" is only for a source with a \"layout\"", what);
        goto out;
    }
    if (m->tok_repo && !repo_ok(m->tok_repo)) {
        st = HX_FAIL(HX_EFORMAT, "%s: tokenizer repo must be ORG/NAME", what);
        goto out;
    }
    if (m->tok_repo && !m->tok_revision)
        m->tok_revision = hx_strdup("main");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "codec");
    if ((st = get_num(c, "k", 256, 2, 256, what, &d)))
        goto out;
    m->k = (int)d;
    if ((st = get_num(c, "sidecar_fraction", 0.001, 0, 0.5, what, &m->sidecar_fraction)))
        goto out;
    const cJSON *cp = cJSON_GetObjectItemCaseSensitive(c, "compat_0_3_3");
    m->compat_033 = cJSON_IsTrue(cp);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "eval");
    if (!cJSON_IsObject(e)) {
        st = HX_FAIL(HX_EFORMAT, "%s: missing \"eval\" object", what);
        goto out;
    }
    if ((st = get_str(e, "protocol", 1, what, &m->eval.protocol)) || (st = get_str(e, "text", 1, what, &m->eval.text)) ||
        (st = get_str(e, "dataset_type", 1, what, &m->eval.dataset_type)) ||
        (st = get_str(e, "dataset_name", 1, what, &m->eval.dataset_name)))
        goto out;
    if (strcmp(m->eval.protocol, "helix") && strcmp(m->eval.protocol, "gptq") && strcmp(m->eval.protocol, "sliding")) {
        st = HX_FAIL(HX_EFORMAT, "%s: eval protocol \"%s\" (helix, gptq or sliding)", what, m->eval.protocol);
        goto out;
    }
    if ((st = get_num(e, "seq_len", 0, 0, 1 << 20, what, &d)))
        goto out;
    m->eval.seq_len = (int)d;
    if ((st = get_num(e, "stride", 0, 0, 1 << 20, what, &d)))
        goto out;
    m->eval.stride = (int)d;
    if ((st = get_num(e, "n_tokens", 0, 0, 1e9, what, &d)))
        goto out;
    m->eval.n_tokens = (long)d;
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, "gates");
    if (!cJSON_IsObject(g)) {
        st = HX_FAIL(HX_EFORMAT, "%s: missing \"gates\" object", what);
        goto out;
    }
    if ((st = get_num(g, "min_cosine", 0.99, -1, 1, what, &m->gates.min_cosine)) ||
        (st = get_num(g, "max_dppl_pct", 10, -100, 1e6, what, &m->gates.max_dppl_pct)) ||
        (st = get_num(g, "max_kld", 1, 0, 1e6, what, &m->gates.max_kld)))
        goto out;
    m->test_model = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "test_model"));
    char *txt = cJSON_PrintUnformatted(j);
    hx_sha256_hex(txt, strlen(txt), m->digest);
    free(txt);
out:
    free(what);
    return st;
}

static void model_free(zoo_model *m)
{
    free(m->name), free(m->source), free(m->revision), free(m->target), free(m->arch);
    free(m->layout), free(m->tok_repo), free(m->tok_revision);
    free(m->license), free(m->pipeline_tag), free(m->eval.protocol), free(m->eval.text);
    free(m->eval.dataset_type), free(m->eval.dataset_name);
}

void zoo_manifest_free(zoo_manifest *z)
{
    if (!z)
        return;
    for (size_t i = 0; i < z->n; i++)
        model_free(&z->m[i]);
    free(z->m), free(z->path), free(z->root);
    memset(z, 0, sizeof *z);
}

static hx_status load_path(const char *path, zoo_manifest *z)
{
    memset(z, 0, sizeof *z);
    char *txt;
    size_t len;
    hx_status st = hx_read_file(path, 16u << 20, &txt, &len);
    if (st)
        return hx_preerr("zoo manifest"), st;
    cJSON *j = cJSON_ParseWithLength(txt, len);
    free(txt);
    if (!j)
        return HX_FAIL(HX_EFORMAT, "zoo manifest %s: not valid JSON", path);
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "models");
    if (!cJSON_IsArray(ms)) {
        cJSON_Delete(j);
        return HX_FAIL(HX_EFORMAT, "zoo manifest %s: no \"models\" array", path);
    }
    z->path = hx_strdup(path);
    char *abs = realpath(path, NULL);
    char *sl = abs ? strrchr(abs, '/') : NULL;
    if (sl)
        *sl = 0;
    /* texts are relative to the directory above zoo/ (the toolkit root) */
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(j, "root");
    if (cJSON_IsString(rt) && rt->valuestring[0] == '/')
        z->root = hx_strdup(rt->valuestring);
    else if (abs && cJSON_IsString(rt))
        z->root = hx_path_join(abs, rt->valuestring);
    else
        z->root = hx_strdup(abs ? abs : ".");
    free(abs);
    z->n = (size_t)cJSON_GetArraySize(ms);
    z->m = hx_calloc(z->n ? z->n : 1, sizeof *z->m);
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, ms)
    {
        if ((st = parse_model(e, path, &z->m[i])))
            break;
        for (size_t k = 0; k < i; k++)
            if (!strcmp(z->m[k].name, z->m[i].name)) {
                st = HX_FAIL(HX_EFORMAT, "zoo manifest %s: model \"%s\" listed twice", path, z->m[i].name);
                break;
            }
        i++;
        if (st)
            break;
    }
    cJSON_Delete(j);
    if (st)
        zoo_manifest_free(z);
    return st;
}

const zoo_model *zoo_find(const zoo_manifest *z, const char *name)
{
    for (size_t i = 0; i < z->n; i++)
        if (!strcmp(z->m[i].name, name))
            return &z->m[i];
    return NULL;
}

char *zoo_text_path(const zoo_manifest *z, const zoo_model *m)
{
    if (m->eval.text[0] == '/')
        return hx_strdup(m->eval.text);
    return hx_path_join(z->root, m->eval.text);
}

char *zoo_target(const zoo_model *m, const char *org)
{
    if (!org || !*org)
        return hx_strdup(m->target);
    return hx_asprintf("%s/%s", org, strchr(m->target, '/') + 1);
}

hx_status zoo_manifest_load(const char *path, zoo_manifest *z)
{
    if (path)
        return load_path(path, z);
    char *def = zoo_default_manifest();
    hx_status st = load_path(def, z);
    free(def);
    return st;
}
