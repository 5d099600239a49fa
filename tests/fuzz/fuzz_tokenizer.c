/* fuzz_tokenizer.c - a tokenizer.json into model/tok_load.c and the
 * encoder/decoder it builds: written to a scratch file and loaded with
 * hx_tok_load (added tokens, normalizers, pre-tokenizers with PCRE2
 * regexes, BPE vocabulary and merges, post-processor, decoders); a loaded
 * tokenizer then encodes a few fixed strings (ASCII, whitespace runs,
 * multi-byte UTF-8, invalid UTF-8, special-token text, digits), with and
 * without special tokens, decodes the ids back, and looks up pieces. */
#include "model/tokenizer.h"
#include "tests/fuzz/util.h"

#include <stdlib.h>
#include <string.h>

static const char *const texts[] = {
    "Hello world",
    "  the quick\n\n\tbrown fox  ",
    "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x99\x82 caf\xc3\xa9",
    "\xff\xfe bad \xc3 utf8 \xed\xa0\x80",
    "<s>a</s><|endoftext|><unk> <|im_start|>user",
    "12345 3.14159 2024-01-01",
    "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    fz_clear();
    char *p = fz_write("tokenizer.json", data, size);
    if (!p)
        return 0;
    hx_tok *t = NULL;
    if (hx_tok_load(p, &t) == HX_OK) {
        int32_t nv = hx_tok_vocab_size(t);
        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
            for (int sp = 0; sp < 2; sp++) {
                int32_t *ids = NULL;
                size_t n = 0;
                if (hx_tok_encode(t, texts[i], strlen(texts[i]), sp, &ids, &n) == HX_OK) {
                    for (size_t k = 0; k < n; k++)
                        if (ids[k] < 0 || ids[k] >= nv)
                            abort(); /* every id within the vocabulary */
                    free(hx_tok_decode(t, ids, n, 0));
                    free(hx_tok_decode(t, ids, n, 1));
                }
                free(ids);
            }
        for (int32_t id = -1; id < 300 && id <= nv; id++) {
            const char *piece = hx_tok_piece(t, id);
            if (piece)
                hx_tok_id(t, piece);
        }
        const int32_t *pre;
        hx_tok_prefix(t, &pre);
        hx_tok_suffix(t, &pre);
        hx_tok_free(t);
    }
    free(p);
    hx_clearerr();
    return 0;
}
