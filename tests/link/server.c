/* server.c - the Hub server linked alone (Makefile "link-check"): imports a
 * folder into a fresh store as REPO, serves it on a free loopback port
 * (printed as "port N" on stdout), and stops when stdin reaches end of
 * file. Linked without libcurl and without the codec
 * (tests/integration/link_split.sh). */
#include "hub/server/server.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: link-server STORE DIR REPO\n");
        return 2;
    }
    char commit[41];
    hx_status st = hub_server_import(argv[1], argv[2], argv[3], "main", 0, "link-check", commit);
    if (st) {
        fprintf(stderr, "link-server: %s\n", hx_lasterr());
        return st;
    }
    hub_server_opts o = {.root = argv[1]};
    hub_server *s;
    if ((st = hub_server_start(&o, &s))) {
        fprintf(stderr, "link-server: %s\n", hx_lasterr());
        return st;
    }
    printf("port %d\ncommit %s\n", hub_server_port(s), commit);
    fflush(stdout);
    while (getchar() != EOF)
        ;
    hub_server_stop(s);
    return 0;
}
