/* card.h - model cards (README.md with YAML front matter the Hub accepts):
 * rendered from a build summary (the hxzoo_build.json receipt: nothing is
 * typed by hand), and parsed back by `hxzoo verify` into its claims, for
 * our cards and for those of the original helix-substrate. */
#ifndef HX_CARD_H
#define HX_CARD_H

#include "common/hx.h"

#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

typedef struct card_file {
    char *path;          /* relative, '/'-separated */
    uint64_t size;
    char sha256[65];
} card_file;

/* Every regular file under dir except README.md (and .cache/, .git/),
 * sorted by path, with size and SHA-256. */
hx_status card_list_files(const char *dir, card_file **files, size_t *n);
void card_files_free(card_file *f, size_t n);

/* README.md text for a build summary (see zoo/build.c for its fields) and
 * the files it publishes. Caller frees. */
char *card_render(const cJSON *build, const card_file *files, size_t n);

/* ---- parsing (verify) ---- */
typedef struct card_kv {
    char *key;   /* lower case, markup removed */
    char *value; /* scalar text; lists joined with "," */
} card_kv;

typedef struct card_doc {
    int front_matter;       /* 1: a "---" block was found and parsed */
    char *fm_error;         /* why the front matter is malformed (NULL ok) */
    card_kv *fm;            /* top-level front matter keys */
    size_t n_fm;
    card_kv *rows;          /* two-column table rows of the body: | key | value | */
    size_t n_rows;
    card_file *files;       /* rows | path | bytes | sha256 | */
    size_t n_files;
} card_doc;

hx_status card_parse(const char *text, size_t len, card_doc *d);
void card_doc_free(card_doc *d);
/* Front matter value / body row value by key (case-insensitive), or NULL. */
const char *card_fm(const card_doc *d, const char *key);
const char *card_row(const card_doc *d, const char *key);
/* The first number in a row's value (handles "+1.23%", "5.55", "0.98 (x)");
 * returns 0 and sets *v, or -1 when the row is missing or has no number. */
int card_row_num(const card_doc *d, const char *key, double *v);
/* The same number as a whole count within [lo, hi] (truncated; checked
 * before the conversion): 0 and *v set, or -1 when missing or out of
 * range (a card may say 1e300). */
int card_row_int(const card_doc *d, const char *key, long lo, long hi, long *v);

/* ---- the Hub's metadata check (POST /api/validate-yaml; validate.c) ---- */
/* Check a README.md's YAML front matter as the Hub does before it accepts
 * the card: appends {"message": ...} objects to errors (the card is
 * refused: YAML that does not parse, metadata that is not a mapping, a
 * license not in the Hub's list, a bad base_model_relation or model-index)
 * and to warnings (accepted: no metadata at all). repo_type is "model",
 * "dataset" or "space". */
void card_validate_metadata(const char *text, size_t len, const char *repo_type, cJSON *errors, cJSON *warnings);

#endif
