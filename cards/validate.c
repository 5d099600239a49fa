/* validate.c - the Hub's check of a README.md's YAML metadata, as
 * POST /api/validate-yaml answers it (hxzoo serve answers with it; the
 * build checks its card through that endpoint before publishing). The
 * front matter is found with huggingface_hub's rule and parsed with libyaml
 * (syntax errors name the README line), mappings must not repeat a key,
 * and the keys the Hub enumerates are checked: license (its list of
 * identifiers), base_model_relation, model-index (a list of mappings). A
 * card without metadata is accepted with a warning, as on the Hub.
 *
 * Hostile input: a first pass over libyaml's events (nothing kept)
 * refuses nesting deeper than MAX_DEPTH, more than MAX_NODES nodes and more
 * anchors or aliases than libyaml's loader looks up cheaply (it searches
 * its list of anchors for each anchor and alias) before the document is
 * loaded. The loaded document keeps an alias as a reference to its anchor's
 * node, and the checks below visit each node of that array once and follow
 * references at most two levels from the root: aliases are never expanded
 * ("billion laughs" costs nothing). */
#include "cards/card.h"

#include <yaml.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* docs/hub/repositories-licenses.md of huggingface/hub-docs (242f4a1e) */
static const char *const licenses[] = {
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m", "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd", "bsd-2-clause", "bsd-3-clause",
    "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0",
    "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0",
    "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0", "epl-2.0",
    "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1",
    "lgpl-3.0", "isc", "h-research", "intel-research", "lppl-1.3c", "ms-pl", "apple-ascl", "apple-amlr", "mpl-2.0",
    "odc-by", "odbl", "openmdw-1.0", "openmdw-1.1", "openrail++", "osl-3.0", "postgresql", "ofl-1.1", "ncsa",
    "unlicense", "zlib", "pddl", "lgpl-lr", "deepfloyd-if-license", "fair-noncommercial-research-license", "llama2",
    "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "grok2-community", "gemma", "unknown", "other", NULL};
/* docs/hub/model-cards.md */
static const char *const relations[] = {"adapter", "merge", "quantized", "finetune", NULL};

#define MAX_DEPTH 100        /* nesting of collections */
#define MAX_NODES 500000     /* scalars, collections and aliases (~150 B each once loaded) */
#define MAX_ANCHORS 256      /* libyaml's loader: a linear search of its anchors for */
#define MAX_ALIASES 4096     /* each anchor and each alias */
#define MAX_ANCHOR_LEN 128   /* bytes of an anchor's name (what each comparison reads) */
#define MAX_ITEM_ERRORS 100  /* "model-index[i]" messages */

typedef struct vctx {
    const char *b; /* the front matter */
    size_t n;
    size_t line0; /* README line number of its first line */
    char err[600];
} vctx;

/* Record the first error (line: 0-based within the front matter). */
__attribute__((format(printf, 3, 4))) static void fail(vctx *v, size_t line, const char *fmt, ...)
{
    if (v->err[0])
        return;
    char m[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    snprintf(v->err, sizeof v->err, "Error parsing YAML metadata (README.md line %zu): %s", v->line0 + line, m);
}

/* The 0-based line of byte offset off (reader errors carry an offset, not
 * a mark); line breaks as huggingface_hub splits them. */
static size_t line_of(const vctx *v, size_t off)
{
    size_t line = 0;
    for (size_t i = 0; i < off && i < v->n; i++)
        if (v->b[i] == '\n' || (v->b[i] == '\r' && (i + 1 >= v->n || v->b[i + 1] != '\n')))
            line++;
    return line;
}

/* libyaml's error, at its problem's line. Running out of input inside a
 * flow collection or a quoted scalar is named as such. */
static void yaml_fail(vctx *v, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_MEMORY_ERROR) {
        fail(v, 0, "out of memory");
    } else if (p->error == YAML_READER_ERROR) {
        if (p->problem_value >= 0)
            fail(v, line_of(v, p->problem_offset), "%s (#%X)", problem, (unsigned)p->problem_value);
        else
            fail(v, line_of(v, p->problem_offset), "%s", problem);
    } else {
        /* at the end of the input libyaml's mark is past the last line */
        int at_end = p->problem_mark.index >= v->n;
        size_t line = at_end ? line_of(v, v->n) : p->problem_mark.line;
        const char *what = "";
        if (at_end && p->context && strstr(p->context, "flow"))
            what = "unterminated flow collection: ";
        else if (at_end && p->context && strstr(p->context, "quoted scalar"))
            what = "unterminated quoted scalar: ";
        if (p->context)
            fail(v, line, "%s%s (%s at line %zu)", what, problem, p->context,
                 v->line0 + (p->context_mark.index >= v->n ? line_of(v, v->n) : p->context_mark.line));
        else
            fail(v, line, "%s", problem);
    }
}

/* The first pass: one document within the limits above. 1 when so. */
static int prescan(vctx *v)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        fail(v, 0, "out of memory");
        return 0;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)v->b, v->n);
    size_t depth = 0, nodes = 0, anchors = 0, aliases = 0, docs = 0;
    for (int done = 0; !done && !v->err[0];) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e)) {
            yaml_fail(v, &p);
            break;
        }
        size_t line = e.start_mark.line;
        const yaml_char_t *anchor = NULL;
        switch (e.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                fail(v, line, "expected a single document in the stream, but found more");
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            anchor = e.type == YAML_SEQUENCE_START_EVENT ? e.data.sequence_start.anchor : e.data.mapping_start.anchor;
            if (++depth > MAX_DEPTH)
                fail(v, line, "nesting deeper than %d levels", MAX_DEPTH);
            nodes++;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        case YAML_SCALAR_EVENT:
            anchor = e.data.scalar.anchor;
            nodes++;
            break;
        case YAML_ALIAS_EVENT:
            nodes++;
            if (++aliases > MAX_ALIASES)
                fail(v, line, "more than %d aliases", MAX_ALIASES);
            break;
        default:
            break;
        }
        if (anchor && ++anchors > MAX_ANCHORS)
            fail(v, line, "more than %d anchors", MAX_ANCHORS);
        if (anchor && strlen((const char *)anchor) > MAX_ANCHOR_LEN)
            fail(v, line, "an anchor name longer than %d bytes", MAX_ANCHOR_LEN);
        if (nodes > MAX_NODES)
            fail(v, line, "more than %d nodes", MAX_NODES);
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
    return !v->err[0];
}

/* ---- the loaded document ---- */
static int scalar_eq(const yaml_node_t *y, const char *s)
{
    size_t n = strlen(s);
    return y && y->type == YAML_SCALAR_NODE && y->data.scalar.length == n && !memcmp(y->data.scalar.value, s, n);
}

/* A null value: an empty or null plain scalar (YAML's core schema). */
static int is_null(const yaml_node_t *y)
{
    return y->type == YAML_SCALAR_NODE && y->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (scalar_eq(y, "") || scalar_eq(y, "~") || scalar_eq(y, "null") || scalar_eq(y, "Null") ||
            scalar_eq(y, "NULL"));
}

static int one_of(const yaml_node_t *y, const char *const *set)
{
    for (size_t i = 0; set[i]; i++)
        if (scalar_eq(y, set[i]))
            return 1;
    return 0;
}

/* The value of a mapping's scalar key, or NULL. */
static yaml_node_t *map_get(yaml_document_t *d, const yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
        if (scalar_eq(yaml_document_get_node(d, p->key), key))
            return yaml_document_get_node(d, p->value);
    return NULL;
}

/* Scalar keys by value, then by position (so that of two equal keys the
 * later one follows). */
static int key_cmp(const void *a, const void *b)
{
    const yaml_node_t *x = *(yaml_node_t *const *)a, *y = *(yaml_node_t *const *)b;
    size_t n = x->data.scalar.length < y->data.scalar.length ? x->data.scalar.length : y->data.scalar.length;
    int c = memcmp(x->data.scalar.value, y->data.scalar.value, n);
    if (!c)
        c = (x->data.scalar.length > y->data.scalar.length) - (x->data.scalar.length < y->data.scalar.length);
    if (!c)
        c = (x->start_mark.index > y->start_mark.index) - (x->start_mark.index < y->start_mark.index);
    return c;
}

/* No mapping repeats a scalar key: every mapping node of the document is
 * visited once (aliases are references into the same array); the error
 * names the earliest repeated key in the text. */
static void unique_keys(vctx *v, yaml_document_t *d)
{
    const yaml_node_t **keys = NULL, *bad = NULL;
    size_t cap = 0;
    for (yaml_node_t *y = d->nodes.start; y < d->nodes.top; y++) {
        if (y->type != YAML_MAPPING_NODE)
            continue;
        size_t m = 0, n = (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
        if (n < 2)
            continue;
        if (n > cap)
            keys = hx_realloc(keys, (cap = n) * sizeof *keys);
        for (yaml_node_pair_t *p = y->data.mapping.pairs.start; p < y->data.mapping.pairs.top; p++) {
            const yaml_node_t *k = yaml_document_get_node(d, p->key);
            if (k && k->type == YAML_SCALAR_NODE)
                keys[m++] = k;
        }
        qsort(keys, m, sizeof *keys, key_cmp);
        for (size_t i = 1; i < m; i++)
            if (keys[i]->data.scalar.length == keys[i - 1]->data.scalar.length &&
                !memcmp(keys[i]->data.scalar.value, keys[i - 1]->data.scalar.value, keys[i]->data.scalar.length) &&
                (!bad || keys[i]->start_mark.index < bad->start_mark.index))
                bad = keys[i];
    }
    free(keys);
    if (bad) {
        /* at most 80 bytes of the key, cut at a character boundary */
        const unsigned char *s = bad->data.scalar.value;
        size_t k = bad->data.scalar.length < 80 ? bad->data.scalar.length : 80;
        while (k > 0 && k < bad->data.scalar.length && (s[k] & 0xC0) == 0x80)
            k--;
        fail(v, bad->start_mark.line, "duplicated mapping key '%.*s'", (int)k, (const char *)s);
    }
}

/* ---- the checks ---- */
static void message(cJSON *arr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void message(cJSON *arr, const char *fmt, ...)
{
    char m[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", m);
    cJSON_AddItemToArray(arr, o);
}

/* A scalar, or a list of scalars, each in set (a null value passes). */
static void check_enum(cJSON *errors, yaml_document_t *d, const yaml_node_t *root, const char *key,
                       const char *const *set, int list_ok)
{
    const yaml_node_t *y = map_get(d, root, key);
    if (!y || is_null(y))
        return;
    int ok = one_of(y, set);
    if (y->type == YAML_SEQUENCE_NODE && list_ok) {
        ok = y->data.sequence.items.top > y->data.sequence.items.start;
        for (yaml_node_item_t *i = y->data.sequence.items.start; ok && i < y->data.sequence.items.top; i++)
            ok = one_of(yaml_document_get_node(d, *i), set);
    }
    if (ok)
        return;
    char all[1600] = "";
    size_t w = 0;
    for (size_t i = 0; set[i] && w < sizeof all; i++)
        w += (size_t)snprintf(all + w, sizeof all - w, "%s%s", i ? ", " : "", set[i]);
    message(errors, "\"%s\" must be one of [%s]", key, all);
}

/* The front matter as huggingface_hub finds it (repocard.py: leading
 * blank space, "---" and a line break, then everything up to the first
 * line that is "---" and optional spaces). Returns 0 when there is none. */
static int front_matter(const char *t, size_t len, size_t *off, size_t *blen, size_t *line0)
{
    size_t i = 0, line = 1;
    for (; i < len && strchr(" \t\r\n\f\v", t[i]); i++)
        if (t[i] == '\n' || (t[i] == '\r' && (i + 1 >= len || t[i + 1] != '\n')))
            line++;
    if (len - i < 4 || strncmp(t + i, "---", 3) || (t[i + 3] != '\n' && t[i + 3] != '\r'))
        return 0;
    i += 3 + (t[i + 3] == '\r' && i + 4 < len && t[i + 4] == '\n' ? 2 : 1);
    line++;
    /* the block ends at a line "---[ \t]*" (the first line may be it: empty) */
    for (size_t s = i; s <= len;) {
        size_t e = s;
        while (e < len && t[e] != '\n' && t[e] != '\r')
            e++;
        size_t sp = s + 3;
        while (sp < e && (t[sp] == ' ' || t[sp] == '\t'))
            sp++;
        if (e - s >= 3 && !strncmp(t + s, "---", 3) && sp == e) {
            *off = i;
            *blen = s > i ? s - i - 1 : 0; /* without the line break before "---" */
            if (s > i && t[s - 1] == '\n' && s - 2 >= i && t[s - 2] == '\r')
                (*blen)--;
            *line0 = line;
            return 1;
        }
        if (e >= len)
            break;
        s = e + (t[e] == '\r' && e + 1 < len && t[e + 1] == '\n' ? 2 : 1);
    }
    return 0;
}

void card_validate_metadata(const char *text, size_t len, const char *repo_type, cJSON *errors, cJSON *warnings)
{
    static const char no_metadata[] =
        "empty or missing yaml metadata in repo card (https://huggingface.co/docs/hub/model-cards#model-card-metadata)";
    size_t off;
    vctx v = {0};
    if (!front_matter(text, len, &off, &v.n, &v.line0)) {
        message(warnings, "%s", no_metadata);
        return;
    }
    v.b = text + off;
    if (!prescan(&v)) {
        message(errors, "%s", v.err);
        return;
    }
    yaml_parser_t p;
    yaml_document_t d;
    if (!yaml_parser_initialize(&p)) {
        message(errors, "Error parsing YAML metadata: out of memory");
        return;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)v.b, v.n);
    if (!yaml_parser_load(&p, &d)) { /* the composer's errors: an undefined alias, an anchor defined twice */
        yaml_fail(&v, &p);
        message(errors, "%s", v.err);
        yaml_parser_delete(&p);
        return;
    }
    yaml_parser_delete(&p);
    unique_keys(&v, &d);
    const yaml_node_t *root = yaml_document_get_root_node(&d);
    if (v.err[0]) {
        message(errors, "%s", v.err);
    } else if (!root || is_null(root)) {
        message(warnings, "%s", no_metadata);
    } else if (root->type != YAML_MAPPING_NODE) {
        message(errors, "\"metadata\" must be of type object (YAML key: value pairs)");
    } else {
        check_enum(errors, &d, root, "license", licenses, 1);
        check_enum(errors, &d, root, "base_model_relation", relations, 0);
        const yaml_node_t *mi = map_get(&d, root, "model-index");
        if (mi && !strcmp(repo_type, "model")) {
            if (mi->type != YAML_SEQUENCE_NODE) {
                message(errors, "\"model-index\" must be an array");
            } else {
                size_t i = 0, bad = 0;
                const yaml_node_item_t *it = mi->data.sequence.items.start;
                for (; it < mi->data.sequence.items.top; it++, i++) {
                    const yaml_node_t *y = yaml_document_get_node(&d, *it);
                    if ((!y || y->type != YAML_MAPPING_NODE) && bad++ < MAX_ITEM_ERRORS)
                        message(errors, "\"model-index[%zu]\" must be of type object", i);
                }
                if (bad > MAX_ITEM_ERRORS)
                    message(errors, "... and %zu more items of \"model-index\" that are not objects",
                            bad - MAX_ITEM_ERRORS);
            }
        }
    }
    yaml_document_delete(&d);
}
