/* client.c - the Hub client linked alone (Makefile "link-check"): resolves
 * REPO's main branch at ENDPOINT and prints the commit, then one line
 * "size path" per file. Linked without libmicrohttpd, the server and the
 * codec (tests/integration/link_split.sh). */
#include "hub/hub.h"

#include <inttypes.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: link-client ENDPOINT REPO\n");
        return 2;
    }
    hub_config cfg = {.endpoint = argv[1], .progress = 0};
    hub_client *c = NULL;
    hx_status st = hub_client_new(&cfg, &c);
    char commit[41];
    hub_listing l = {0};
    if (!st)
        st = hub_resolve_revision(c, argv[2], "main", commit);
    if (!st)
        st = hub_list_files(c, argv[2], commit, &l);
    if (st) {
        fprintf(stderr, "link-client: %s\n", hx_lasterr());
        if (c)
            hub_client_free(c);
        return st;
    }
    printf("commit %s\n", commit);
    for (size_t i = 0; i < l.n; i++)
        printf("%" PRIu64 " %s\n", l.files[i].size, l.files[i].path);
    hub_listing_free(&l);
    hub_client_free(c);
    return 0;
}
