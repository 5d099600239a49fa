/* tokenizer.h - Hugging Face `tokenizer.json` tokenizers in C: byte-level
 * BPE (GPT-2, Qwen2/2.5, Llama-3, SmolLM2) and SentencePiece-style BPE with
 * byte fallback (Llama-2, TinyLlama, llama2.c vocabularies). Encoding gives
 * the same ids as the Python `tokenizers` package: added/special tokens are
 * split out first, then normalizers (NFC/NFKC via ICU, Prepend, Replace,
 * Lowercase, Strip), pre-tokenizers (Split with PCRE2 regexes, ByteLevel,
 * Metaspace, Digits), the BPE model and the post-processor (BOS/EOS from
 * TemplateProcessing). Decoding applies the decoder chain (ByteLevel,
 * Metaspace, Replace, ByteFallback, Fuse, Strip). */
#ifndef HX_TOKENIZER_H
#define HX_TOKENIZER_H

#include "common/hx.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hx_tok hx_tok;

/* Load PATH: a tokenizer.json, a tokenizer.json.zst, or a directory holding
 * one of them. */
hx_status hx_tok_load(const char *path, hx_tok **out);
void hx_tok_free(hx_tok *t);

/* Encode len bytes of UTF-8 text. add_special: apply the post-processor
 * (BOS/EOS as the tokenizer's template says). *ids is malloc'd. */
hx_status hx_tok_encode(const hx_tok *t, const char *text, size_t len, int add_special,
                        int32_t **ids, size_t *n);
/* Decode ids to UTF-8 text (malloc'd, NUL-terminated). skip_special drops
 * special added tokens. */
char *hx_tok_decode(const hx_tok *t, const int32_t *ids, size_t n, int skip_special);

/* Number of ids (highest id + 1, added tokens included). */
int32_t hx_tok_vocab_size(const hx_tok *t);
/* Token string of an id (vocabulary form, e.g. "Ġthe"), or NULL. */
const char *hx_tok_piece(const hx_tok *t, int32_t id);
/* Id of a token string (vocabulary or added token), or -1. */
int32_t hx_tok_id(const hx_tok *t, const char *piece);
/* Ids the post-processor puts before / after a single sequence. */
size_t hx_tok_prefix(const hx_tok *t, const int32_t **ids);
size_t hx_tok_suffix(const hx_tok *t, const int32_t **ids);

#endif
