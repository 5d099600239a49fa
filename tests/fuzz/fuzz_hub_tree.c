/* fuzz_hub_tree.c - tree listings into the Hub client (hub/repo_api.c,
 * hub/cache.c): every part of the input (tests/fuzz/util.h container; one
 * part per page of a paginated listing) goes to hub_parse_tree_page (JSON
 * array, entry type, safe path, git oid, size within 1 TiB, lfs record),
 * the pages' files to hub_listing_check (sorted, no path twice, no file
 * that is also a folder); the whole input also goes to
 * hub_parse_cached_tree (the cache's trees/<commit>.json). An accepted
 * listing must satisfy what hub_download relies on. */
#include "hub/client_internal.h"
#include "tests/fuzz/util.h"

#include <stdlib.h>
#include <string.h>

static void check(const hub_listing *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const hub_entry *e = &l->files[i];
        if (!e->path || !hub_path_safe(e->path) || (double)e->size > HUB_MAX_FILE_SIZE || strlen(e->oid) != 40)
            abort();
        if (i && strcmp(l->files[i - 1].path, e->path) >= 0)
            abort(); /* sorted, unique */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    fz_part parts[16];
    size_t np = fz_split(data, size, "page", parts, 16);
    hub_listing l;
    memset(&l, 0, sizeof l);
    size_t cap = 0;
    hx_status st = HX_OK;
    for (size_t i = 0; i < np && !st; i++)
        st = hub_parse_tree_page((const char *)parts[i].data, parts[i].n, "fuzz", &l, &cap);
    if (st)
        hub_listing_free(&l);
    else if (hub_listing_check(&l, "fuzz") == HX_OK) {
        check(&l);
        hub_listing_free(&l);
    }
    if (hub_parse_cached_tree((const char *)data, size, "fuzz", &l) == HX_OK) {
        check(&l);
        hub_listing_free(&l);
    }
    hx_clearerr();
    return 0;
}
