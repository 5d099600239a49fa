/* fuzz_hub_names.c - the names and small texts that cross the wire into
 * the Hub code's pure helpers (hub/proto/paths.c, hub/proto/encode.c,
 * common/hash.c, hub/server/store.c), the parts of request handling
 * that can run without a server or a socket: the input is up to four
 * NUL-separated fields A, B, C, D:
 *   hub_glob_match(A, B) (allow_patterns, gitIgnore / .gitattributes
 *   lines: linear time, fnmatch sets), hub_path_safe / hub_repo_id_valid /
 *   hub_rev_safe / hub_is_commit_id on B, hub_urldecode of B and the
 *   round trip B -> hub_urlencode -> hub_urldecode, store_gitattr_is_lfs(C,
 *   B) (preupload and commit), hub_b64_decode of D (preupload samples,
 *   commit contents) and the round trip D -> encode -> decode. */
#include "common/hash.h"
#include "hub/proto/proto.h"
#include "hub/server/store_internal.h"
#include "tests/fuzz/util.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    char *buf = fz_cstr(data, size);
    const char *f[4] = {"", "", "", ""};
    size_t flen[4] = {0, 0, 0, 0};
    const char *p = buf, *end = buf + size;
    for (int i = 0; i < 4 && p <= end; i++) {
        f[i] = p;
        flen[i] = strlen(p);
        p += flen[i] + 1;
    }
    hub_glob_match(f[0], f[1]);
    hub_path_safe(f[1]);
    hub_repo_id_valid(f[1]);
    hub_rev_safe(f[1]);
    hub_is_commit_id(f[1]);
    char *d = hx_strdup(f[1]);
    hub_urldecode(d);
    free(d);
    char *enc = hub_urlencode(f[1], 1);
    if (!hub_urldecode(enc) || strcmp(enc, f[1]))
        abort(); /* decode(encode(s)) == s */
    free(enc);
    store_gitattr_is_lfs(f[2], f[1]);
    size_t n = 0;
    unsigned char *raw = hub_b64_decode(f[3], flen[3], &n);
    if (raw) {
        if (n > flen[3] / 4 * 3)
            abort(); /* never more than the encoding holds */
        free(raw);
    }
    char *b64 = hub_b64_encode(f[3], flen[3]);
    raw = hub_b64_decode(b64, strlen(b64), &n);
    if (!raw || n != flen[3] || memcmp(raw, f[3], n))
        abort(); /* decode(encode(s)) == s */
    free(raw);
    free(b64);
    free(buf);
    hx_clearerr();
    return 0;
}
