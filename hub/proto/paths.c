/* paths.c - validation of the names that cross the wire (repo ids,
 * revisions, repo file paths), percent encoding and glob matching. Client
 * and server both refuse unsafe names before touching the disk. */
#include "hub/proto/proto.h"
#include "common/hash.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int hub_path_safe(const char *path)
{
    size_t n = strlen(path);
    if (n == 0 || n > 1000) {
        hx_seterr("unsafe repo path '%.200s': empty or longer than 1000 bytes", path);
        return 0;
    }
    if (path[0] == '/') {
        hx_seterr("unsafe repo path '%.200s': absolute", path);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c == '\\' || c < 0x20 || c == 0x7f) {
            hx_seterr("unsafe repo path '%.200s': backslash or control character", path);
            return 0;
        }
    }
    const char *s = path;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.') ||
            (len == 4 && !memcmp(s, ".git", 4))) {
            hx_seterr("unsafe repo path '%.200s': empty, '.', '..' or '.git' segment", path);
            return 0;
        }
        if (!e)
            break;
        s = e + 1;
    }
    return 1;
}

static int seg_ok(const char *s, size_t len)
{
    if (len < 1 || len > 96)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '_' || c == '-' || c == '.'))
            return 0;
        if (i + 1 < len && ((c == '-' && s[i + 1] == '-') || (c == '.' && s[i + 1] == '.')))
            return 0;
    }
    if (s[0] == '-' || s[0] == '.' || s[len - 1] == '-' || s[len - 1] == '.')
        return 0;
    if (len >= 4 && !memcmp(s + len - 4, ".git", 4))
        return 0;
    return 1;
}

int hub_repo_id_valid(const char *repo)
{
    const char *slash = strchr(repo, '/');
    if (!slash)
        return seg_ok(repo, strlen(repo));
    if (strchr(slash + 1, '/'))
        return 0;
    return seg_ok(repo, (size_t)(slash - repo)) && seg_ok(slash + 1, strlen(slash + 1));
}

int hub_rev_safe(const char *rev)
{
    size_t n = strlen(rev);
    if (n == 0 || n > 256 || rev[0] == '/' || rev[n - 1] == '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)rev[i];
        if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '~' || c == '^' || c == ':' || c == '?' ||
            c == '*' || c == '[')
            return 0;
        if (c == '/' && rev[i + 1] == '/')
            return 0;
        if (c == '.' && rev[i + 1] == '.')
            return 0;
        if (c == '.' && (i == 0 || rev[i - 1] == '/'))
            return 0;
    }
    return 1;
}

int hub_is_commit_id(const char *s) { return hx_is_hex(s, 40); }

char *hub_urlencode(const char *s, int keep_slash)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = hx_malloc(3 * n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hexd[c >> 4];
            *o++ = hexd[c & 15];
        }
    }
    *o = 0;
    return out;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hub_urldecode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '%') {
            int a = hexval((unsigned char)p[1]), b = a < 0 ? -1 : hexval((unsigned char)p[2]);
            if (a < 0 || b < 0 || (a == 0 && b == 0))
                return 0;
            *o++ = (char)(a * 16 + b);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = 0;
    return 1;
}

/* One pattern element at p (a literal, '?' or a bracket set) against the
 * character c: its length in the pattern, *ok whether it matches. Sets as
 * Python's fnmatch reads them: '!' negates, '^' is an ordinary member, a
 * ']' right after the opening (or after '!') is a member, a-z a range, an
 * unclosed '[' a literal. */
static size_t glob_elem(const char *p, char c, int *ok)
{
    if (*p == '?') {
        *ok = 1;
        return 1;
    }
    if (*p == '[') {
        const char *q = p + 1;
        int neg = 0, hit = 0;
        if (*q == '!')
            neg = 1, q++;
        const char *start = q;
        while (*q && (*q != ']' || q == start)) {
            if (q[1] == '-' && q[2] && q[2] != ']') {
                hit |= c >= q[0] && c <= q[2];
                q += 3;
            } else {
                hit |= c == *q;
                q++;
            }
        }
        if (*q) {
            *ok = hit != neg;
            return (size_t)(q - p) + 1;
        }
    }
    *ok = *p == c; /* a literal, or an unclosed '[' */
    return 1;
}

/* Every element matches exactly one character and '*' any run (also of
 * '/'), so going back to the last '*' only is enough: O(len(p) * len(s))
 * steps at worst (the recursive matcher this replaces was exponential in
 * the number of stars: `*a*a*a*b` against 900 bytes took > 30 s). */
static int glob_run(const char *p, const char *s)
{
    const char *star_p = NULL, *star_s = NULL;
    while (*s) {
        if (*p == '*') {
            while (*p == '*')
                p++;
            star_p = p;
            star_s = s;
            continue;
        }
        if (*p) {
            int ok;
            size_t l = glob_elem(p, *s, &ok);
            if (ok) {
                p += l;
                s++;
                continue;
            }
        }
        if (!star_p)
            return 0;
        p = star_p; /* the last star takes one more character */
        s = ++star_s;
    }
    while (*p == '*')
        p++;
    return *p == 0;
}

int hub_glob_match(const char *pattern, const char *path)
{
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '/') {
        char *p = hx_asprintf("%s*", pattern);
        int r = glob_run(p, path);
        free(p);
        return r;
    }
    return glob_run(pattern, path);
}
