/* fault.c - fault injection for tests, from `hxzoo serve --faults
 * SPEC` or the HXZOO_FAULTS environment variable. SPEC is a comma list:
 *   429=K        every K-th request answers 429 (Retry-After: 1, RateLimit)
 *   500=K        every K-th request answers 500 (nothing is done)
 *   drop=K:N     every K-th file body (GET) longer than N bytes is cut after N
 *   dropup=K:N   every K-th LFS upload body: connection dropped after N bytes
 *   slow=K:MS    every K-th request waits MS milliseconds first
 *   corrupt=K    every K-th file body has one byte flipped (a lying server)
 *   liesize=1    listings report every size one byte too large
 *   commitlost=N the first N commits are applied but their answer is lost
 *   max=M        at most M faults in total */
#include "hub/server/server_internal.h"

#include <stdlib.h>
#include <string.h>

const char *srv_fault_env = "HXZOO_FAULTS";

int srv_fault_hit(srv_faults *f, unsigned long n, int every)
{
    if (every <= 0 || n % (unsigned long)every != 0)
        return 0;
    if (f->max > 0) {
        int prev = atomic_fetch_add(&f->fired, 1);
        if (prev >= f->max)
            return 0;
    }
    return 1;
}

void srv_fault_fired(const char *kind) { hx_info("fault injected: %s", kind); }

static int num(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v < 0)
        return 0;
    *out = v;
    return end - s;
}

hx_status srv_faults_parse(srv_faults *f, const char *spec)
{
    if (!spec || !*spec)
        return HX_OK;
    char *dup = hx_strdup(spec), *save = NULL;
    hx_status st = HX_OK;
    for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        long a = 0, b = 0;
        if (!eq) {
            st = HX_FAIL(HX_EUSAGE, "fault '%s' needs a value (name=value)", tok);
            break;
        }
        *eq = 0;
        const char *v = eq + 1;
        int k = num(v, &a);
        if (!k) {
            st = HX_FAIL(HX_EUSAGE, "fault %s: bad value '%s'", tok, v);
            break;
        }
        int has_b = v[k] == ':' && num(v + k + 1, &b);
        if (!strcmp(tok, "429"))
            f->every_429 = (int)a;
        else if (!strcmp(tok, "500"))
            f->every_500 = (int)a;
        else if (!strcmp(tok, "drop") && has_b)
            f->drop_every = (int)a, f->drop_after = (uint64_t)b;
        else if (!strcmp(tok, "dropup") && has_b)
            f->dropup_every = (int)a, f->dropup_after = (uint64_t)b;
        else if (!strcmp(tok, "slow") && has_b)
            f->slow_every = (int)a, f->slow_ms = (int)b;
        else if (!strcmp(tok, "corrupt"))
            f->corrupt_every = (int)a;
        else if (!strcmp(tok, "liesize"))
            f->lie_size = (int)a;
        else if (!strcmp(tok, "commitlost"))
            f->commit_lost = (int)a;
        else if (!strcmp(tok, "max"))
            f->max = (int)a;
        else {
            st = HX_FAIL(HX_EUSAGE, "unknown fault '%s' (or missing :N part)", tok);
            break;
        }
    }
    free(dup);
    return st;
}
