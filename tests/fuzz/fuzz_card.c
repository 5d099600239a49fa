/* fuzz_card.c - a model card (README.md text) into cards/parse.c:
 * card_parse (YAML front matter between --- lines: keys, quoted values,
 * flow and block lists; "| key | value |" rows; "| file | bytes | sha256 |"
 * rows; code fences), then the lookups `hxzoo verify` makes (card_fm,
 * card_row, card_row_num, card_row_int). The text is NUL-terminated, as every caller's
 * (hx_read_file, rv_fetch) is. */
#include "cards/card.h"
#include "tests/fuzz/util.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    char *t = fz_cstr(data, size);
    card_doc d;
    if (card_parse(t, size, &d) == HX_OK) {
        static const char *const fm[] = {"base_model", "base_model_relation", "library_name", "pipeline_tag",
                                         "license", "tags", "model-index"};
        for (size_t i = 0; i < sizeof fm / sizeof *fm; i++)
            card_fm(&d, fm[i]);
        static const char *const rows[] = {"perplexity (hxq)", "perplexity (base)", "Δppl", "min cosine",
                                           "kl divergence", "top-1 agreement", "protocol"};
        for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
            double v;
            card_row(&d, rows[i]);
            card_row_num(&d, rows[i], &v);
        }
        static const char *const counts[] = {"context length", "scored tokens", "stride"};
        for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
            long v;
            if (!card_row_int(&d, counts[i], 0, 1L << 40, &v) && (v < 0 || v > (1L << 40)))
                abort();
        }
        for (size_t i = 0; i < d.n_rows && i < 64; i++) { /* lookups are linear */
            double v;
            if (!d.rows[i].key || !d.rows[i].value)
                abort();
            card_row_num(&d, d.rows[i].key, &v);
        }
        for (size_t i = 0; i < d.n_files; i++)
            if (!d.files[i].path || strlen(d.files[i].sha256) != 64)
                abort();
        card_doc_free(&d);
    }
    free(t);
    return 0;
}
