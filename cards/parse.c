/* parse.c - read a model card back: the top-level keys of its YAML front
 * matter (scalars and simple lists; nested blocks such as model-index are
 * recorded as present), the two-column "| key | value |" table rows of its
 * body and the "| file | bytes | sha256 |" rows. Enough to check our own
 * cards and the original project's, without a full YAML parser. */
#include "cards/card.h"

#include <ctype.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

static char *trim(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char *o = hx_malloc(n + 1);
    memcpy(o, s, n);
    o[n] = 0;
    return o;
}

/* Lower case, without markdown markup (` *). */
static char *keynorm(const char *s)
{
    char *o = hx_malloc(strlen(s) + 1), *p = o;
    for (; *s; s++)
        if (*s != '`' && *s != '*')
            *p++ = (char)tolower((unsigned char)*s);
    *p = 0;
    char *t = trim(o, strlen(o));
    free(o);
    return t;
}

static char *unquote(char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && ((v[0] == '"' && v[n - 1] == '"') || (v[0] == '\'' && v[n - 1] == '\''))) {
        char *o = hx_malloc(n), *p = o;
        for (size_t i = 1; i + 1 < n; i++) {
            if (v[0] == '"' && v[i] == '\\' && i + 2 < n)
                i++;
            *p++ = v[i];
        }
        *p = 0;
        free(v);
        return o;
    }
    return v;
}

/* Arrays grow to the next power of two when their count reaches one (no
 * capacity field in card_doc): appending stays amortised O(1). */
static int full(size_t n) { return (n & (n - 1)) == 0; }

static void add_kv(card_kv **a, size_t *n, char *k, char *v)
{
    if (full(*n))
        *a = hx_realloc(*a, (*n ? 2 * *n : 1) * sizeof **a);
    (*a)[*n].key = k;
    (*a)[*n].value = v;
    (*n)++;
}

static void parse_fm(card_doc *d, const char *s, size_t len)
{
    const char *end = s + len;
    card_kv *cur = NULL;
    size_t cur_len = 0, cur_cap = 0; /* of cur->value: list items are appended in amortised O(1) */
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        char *line = trim(s, n);
        size_t indent = 0;
        while (indent < n && s[indent] == ' ')
            indent++;
        s += n + (nl ? 1 : 0);
        if (!line[0] || line[0] == '#') {
            free(line);
            continue;
        }
        if (indent == 0 && line[0] != '-') {
            char *c = strchr(line, ':');
            if (!c) {
                free(d->fm_error);
                d->fm_error = hx_asprintf("front matter line without a key: \"%s\"", line);
                free(line);
                continue;
            }
            char *k = keynorm((*c = 0, line));
            char *v = unquote(trim(c + 1, strlen(c + 1)));
            if (v[0] == '[') { /* flow list: [a, b] */
                size_t vl = strlen(v);
                if (v[vl - 1] == ']')
                    v[vl - 1] = 0;
                char *o = hx_strdup(v + 1);
                free(v);
                v = o;
            }
            add_kv(&d->fm, &d->n_fm, k, v);
            cur = &d->fm[d->n_fm - 1];
            cur_len = strlen(v);
            cur_cap = cur_len + 1;
        } else if (line[0] == '-' && cur && indent <= 2) {
            char *item = trim(line + 1, strlen(line + 1));
            if (!strchr(item, ':')) {
                item = unquote(item);
                size_t il = strlen(item), need = cur_len + (cur_len ? 1 : 0) + il + 1;
                if (need > cur_cap) {
                    cur_cap = need > 2 * cur_cap ? need : 2 * cur_cap;
                    cur->value = hx_realloc(cur->value, cur_cap);
                }
                if (cur_len)
                    cur->value[cur_len++] = ',';
                memcpy(cur->value + cur_len, item, il + 1);
                cur_len += il;
            } else if (!cur->value[0]) {
                free(cur->value);
                cur->value = hx_strdup("(structure)");
                cur_len = strlen(cur->value);
                cur_cap = cur_len + 1;
            }
            free(item);
        } else if (cur && !cur->value[0]) {
            free(cur->value);
            cur->value = hx_strdup("(structure)");
            cur_len = strlen(cur->value);
            cur_cap = cur_len + 1;
        }
        free(line);
    }
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s))
            return 0;
    return 1;
}

static void parse_row(card_doc *d, const char *line, size_t n)
{
    char *cells[4] = {0};
    int nc = 0;
    const char *p = line + 1, *e = line + n;
    while (e > p && isspace((unsigned char)e[-1]))
        e--;
    if (e > p && e[-1] == '|')
        e--;
    while (p <= e && nc < 4) {
        const char *bar = memchr(p, '|', (size_t)(e - p));
        const char *stop = bar ? bar : e;
        cells[nc++] = trim(p, (size_t)(stop - p));
        if (!bar)
            break;
        p = bar + 1;
    }
    if (nc == 2 && cells[0][0] && strspn(cells[0], "-: ") != strlen(cells[0])) {
        add_kv(&d->rows, &d->n_rows, keynorm(cells[0]), cells[1]);
        cells[1] = NULL;
    } else if (nc == 3 && is_hex64(cells[2])) {
        if (full(d->n_files))
            d->files = hx_realloc(d->files, (d->n_files ? 2 * d->n_files : 1) * sizeof *d->files);
        card_file *f = &d->files[d->n_files++];
        char *path = cells[0];
        size_t pl = strlen(path);
        if (pl >= 2 && path[0] == '`' && path[pl - 1] == '`') {
            memmove(path, path + 1, pl - 2);
            path[pl - 2] = 0;
        }
        f->path = path;
        cells[0] = NULL;
        f->size = strtoull(cells[1], NULL, 10);
        memcpy(f->sha256, cells[2], 65);
        for (char *q = f->sha256; *q; q++)
            *q = (char)tolower((unsigned char)*q);
    }
    for (int i = 0; i < nc; i++)
        free(cells[i]);
}

hx_status card_parse(const char *text, size_t len, card_doc *d)
{
    memset(d, 0, sizeof *d);
    const char *s = text, *end = text + len;
    if (len >= 4 && !strncmp(text, "---", 3) && (text[3] == '\n' || text[3] == '\r')) {
        const char *body = memmem(text + 3, len - 3, "\n---", 4);
        if (!body) {
            d->fm_error = hx_strdup("front matter opened with --- but never closed");
        } else {
            d->front_matter = 1;
            parse_fm(d, text + 4, (size_t)(body + 1 - (text + 4)));
            s = body + 4;
        }
    }
    int in_code = 0;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        if (n >= 3 && !strncmp(s, "```", 3))
            in_code = !in_code;
        else if (!in_code && n && s[0] == '|')
            parse_row(d, s, n);
        s += n + (nl ? 1 : 0);
    }
    return HX_OK;
}

void card_doc_free(card_doc *d)
{
    for (size_t i = 0; i < d->n_fm; i++)
        free(d->fm[i].key), free(d->fm[i].value);
    for (size_t i = 0; i < d->n_rows; i++)
        free(d->rows[i].key), free(d->rows[i].value);
    card_files_free(d->files, d->n_files);
    free(d->fm), free(d->rows), free(d->fm_error);
    memset(d, 0, sizeof *d);
}

static const char *lookup(const card_kv *a, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(a[i].key, key))
            return a[i].value;
    return NULL;
}

const char *card_fm(const card_doc *d, const char *key) { return lookup(d->fm, d->n_fm, key); }
const char *card_row(const card_doc *d, const char *key) { return lookup(d->rows, d->n_rows, key); }

int card_row_num(const card_doc *d, const char *key, double *v)
{
    const char *s = card_row(d, key);
    if (!s)
        return -1;
    for (; *s; s++)
        if (isdigit((unsigned char)*s) || ((*s == '-' || *s == '+' || *s == '.') && isdigit((unsigned char)s[1])) ||
            ((*s == '-' || *s == '+') && s[1] == '.' && isdigit((unsigned char)s[2]))) {
            char *e;
            *v = strtod(s, &e);
            return e > s ? 0 : -1;
        }
    return -1;
}

int card_row_int(const card_doc *d, const char *key, long lo, long hi, long *v)
{
    double x;
    if (card_row_num(d, key, &x) || !(x >= (double)lo && x <= (double)hi))
        return -1;
    *v = (long)x;
    return 0;
}
