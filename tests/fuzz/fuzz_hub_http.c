/* fuzz_hub_http.c - an HTTP answer's head and body into the Hub client's
 * HTTP layer (hub/http.c): the first line's status code, then every header
 * line (up to an empty line) through hub_http_header (ETag, X-Linked-*,
 * X-Repo-Commit, Location, X-Error-*, Content-Range, Content-Length,
 * Retry-After, RateLimit, Link rel="next"), the rest as the body; then
 * hub_http_error (the Hub's error codes and the body's "error" message)
 * and hub_http_retryable, as the client does with a non-2xx answer. */
#include "hub/client_internal.h"
#include "tests/fuzz/util.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    hub_http_resp rs;
    memset(&rs, 0, sizeof rs);
    rs.retry_after = -1;
    const char *s = (const char *)data, *end = s + size;
    int first = 1;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);
        if (first) {
            /* "HTTP/1.1 404 Not Found" */
            const char *sp = memchr(s, ' ', n);
            long st = 0;
            for (const char *q = sp ? sp + 1 : s + n; q < s + n && *q >= '0' && *q <= '9' && st < 1000; q++)
                st = st * 10 + (*q - '0');
            rs.status = st;
            first = 0;
        } else if (n <= 2 && (n == 1 || s[0] == '\r')) {
            s += n;
            break; /* end of the head */
        } else {
            hub_http_header(&rs, s, n);
        }
        s += n;
    }
    if (s < end) {
        rs.len = (size_t)(end - s);
        rs.body = fz_cstr((const uint8_t *)s, rs.len);
    }
    hub_http_error(&rs, "fuzz");
    hub_http_retryable(&rs);
    hub_http_resp_free(&rs);
    hx_clearerr();
    return 0;
}
