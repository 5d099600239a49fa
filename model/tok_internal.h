/* tok_internal.h - the tokenizer's data structures, shared by the files of
 * the tokenizer (tok_load.c, tok_encode.c, tok_bpe.c, tok_decode.c,
 * tok_util.c). Not a public header. */
#ifndef HX_TOK_INTERNAL_H
#define HX_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include "common/buf.h"
#include "model/tokenizer.h"

#include <pcre2.h>

/* ---- string -> int32 hash map (open addressing, keys copied) ---- */
typedef struct tok_map {
    char **keys;
    uint32_t *klen;
    int32_t *vals;
    size_t cap, n;
} tok_map;
void tok_map_put(tok_map *m, const char *k, size_t n, int32_t v);
int32_t tok_map_get(const tok_map *m, const char *k, size_t n); /* -1 if absent */
void tok_map_free(tok_map *m);

/* ---- (id, id) -> merge hash map ---- */
typedef struct tok_pairmap {
    uint64_t *keys; /* (a << 32 | b) + 1; 0 = empty */
    int32_t *rank, *newid;
    size_t cap, n;
} tok_pairmap;
void tok_pair_put(tok_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t newid);
/* rank or -1; *newid set when found */
int32_t tok_pair_get(const tok_pairmap *m, int32_t a, int32_t b, int32_t *newid);
void tok_pair_free(tok_pairmap *m);

/* ---- piece lists (bytes in a common/buf.h buffer) ---- */
typedef struct tok_piece {
    size_t off, len; /* into a hx_buf */
} tok_piece;
typedef struct tok_list {
    hx_buf buf;
    tok_piece *v;
    size_t n, cap;
} tok_list;
void tok_list_add(tok_list *l, const char *s, size_t n);
void tok_list_free(tok_list *l);

/* UTF-8 helpers. */
size_t tok_utf8_len(unsigned char c); /* bytes of the sequence led by c (1 for invalid) */
int tok_utf8_valid(const char *s, size_t n);
uint32_t tok_utf8_decode(const char *s, size_t n, size_t *adv);
size_t tok_utf8_encode(uint32_t cp, char out[4]);
/* Append s as valid UTF-8, replacing invalid sequences by U+FFFD (like
 * Rust's String::from_utf8_lossy). */
void tok_utf8_lossy(hx_buf *b, const char *s, size_t n);

/* GPT-2 byte <-> unicode table. */
extern char tok_bl_enc[256][4]; /* NUL-terminated UTF-8 of each byte's char */
int tok_bl_dec(uint32_t cp);    /* byte of a char, or -1 */
void tok_bl_init(void);

/* ---- pipeline steps ---- */
enum tok_step_kind {
    /* normalizers */
    NS_NFC = 1, NS_NFKC, NS_NFD, NS_NFKD, NS_PREPEND, NS_REPLACE, NS_LOWER, NS_STRIP,
    /* pre-tokenizers */
    PS_SPLIT, PS_BYTELEVEL, PS_METASPACE, PS_DIGITS, PS_WHITESPACE_SPLIT,
    /* decoders */
    DS_BYTELEVEL, DS_METASPACE, DS_REPLACE, DS_BYTEFALLBACK, DS_FUSE, DS_STRIP
};
enum tok_split_behavior { SB_ISOLATED, SB_REMOVED, SB_MERGED_PREV, SB_MERGED_NEXT, SB_CONTIGUOUS };
enum tok_prepend { PP_ALWAYS, PP_FIRST, PP_NEVER };

typedef struct tok_step {
    int kind;
    char *a;            /* pattern string / prepend / replacement char / strip content */
    char *b;            /* replacement content */
    pcre2_code *re;     /* regex pattern (Split, Replace with Regex, ByteLevel use_regex) */
    int behavior, invert;
    int add_prefix_space, use_regex, prepend, split, individual;
    int left, right;    /* Strip normalizer: strip left/right; decoder: start/stop counts */
} tok_step;

typedef struct tok_added {
    char *content;
    size_t len;
    int32_t id;
    int special, lstrip, rstrip, single_word, normalized;
} tok_added;

struct hx_tok {
    /* model */
    tok_map vocab;
    tok_pairmap merges;
    char **id2tok; /* vocabulary or added-token string of each id */
    int32_t nids, capids;
    int byte_fallback, fuse_unk, ignore_merges;
    /* SentencePiece-style vocabulary in which "▁" only ever starts a token,
     * with no pre-tokenizer or only a Metaspace that leaves the text whole:
     * BPE can run word by word (split before each "▁" that follows another
     * character) with the same result, and cached. */
    int spm_words;
    int32_t unk_id;
    int32_t byte_id[256]; /* ids of "<0xXX>" (byte fallback), -1 if absent */
    char *cont_prefix, *end_suffix;
    /* added tokens, longest first */
    tok_added *added;
    size_t nadded;
    uint8_t *is_special; /* per id */
    /* pipelines */
    tok_step *norm, *pre, *dec;
    size_t nnorm, npre, ndec;
    /* post-processor: ids around a single sequence */
    int32_t *prefix, *suffix;
    size_t nprefix, nsuffix;
};

/* growable id vector */
typedef struct tok_ids {
    int32_t *v;
    size_t n, cap;
} tok_ids;
void tok_ids_add(tok_ids *d, const int32_t *ids, size_t k);

/* tok_bpe.c: BPE of one pre-tokenized piece, ids appended to out. The
 * cache (one per encode call) remembers the ids of short pieces. */
typedef struct tok_cache {
    tok_map map; /* piece -> entry index */
    size_t *off, *cnt, nent, capent;
    tok_ids pool;
} tok_cache;
void tok_bpe_piece(const hx_tok *t, tok_cache *c, const char *s, size_t n, tok_ids *out);
void tok_cache_free(tok_cache *c);
/* tok_encode.c */
hx_status tok_normalize(const hx_tok *t, const char *s, size_t n, hx_buf *out);
/* Run pre-tokenizers on one normalized segment; first: the segment starts
 * the text (Metaspace prepend_scheme "first"). */
hx_status tok_pretokenize(const hx_tok *t, const char *s, size_t n, int first, tok_list *out);
/* tok_util.c: compile a regex with UTF + Unicode properties (+ JIT). */
pcre2_code *tok_regex(const char *pattern);

#endif
