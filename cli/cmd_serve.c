/* cmd_serve.c - `hxzoo serve`: run the Hub-compatible server on loopback,
 * or import a local folder into its store (--import DIR REPO). */
#include "cli/cli.h"
#include "common/hx.h"
#include "hub/server/server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static void usage(FILE *f)
{
    fprintf(f, "usage: hxzoo serve --root DIR [--port N] [--host 127.0.0.1] [--tokens FILE]\n"
               "                  [--faults SPEC] [--multipart-chunk BYTES] [--port-file FILE]\n"
               "                  [--max-connections N]\n"
               "       hxzoo serve --root DIR --import LOCAL_DIR REPO [--branch B] [--private]\n"
               "Serves the Hugging Face Hub HTTP API from DIR (see docs/HUB.md).\n"
               "Without --tokens any token may read and write.\n");
}

int cmd_serve(int argc, char **argv)
{
    hub_server_opts o = {0};
    const char *import_dir = NULL, *import_repo = NULL, *branch = NULL, *port_file = NULL;
    int private_ = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--root") && more)
            o.root = argv[++i];
        else if (!strcmp(a, "--port") && more)
            o.port = (int)cli_parse_long(a, argv[++i], 0, 65535);
        else if (!strcmp(a, "--host") && more)
            o.host = argv[++i];
        else if (!strcmp(a, "--tokens") && more)
            o.tokens_file = argv[++i];
        else if (!strcmp(a, "--faults") && more)
            o.faults = argv[++i];
        else if (!strcmp(a, "--multipart-chunk") && more)
            o.multipart_chunk = (uint64_t)cli_parse_long(a, argv[++i], 1024, 1L << 40);
        else if (!strcmp(a, "--max-connections") && more)
            o.max_connections = (unsigned)cli_parse_long(a, argv[++i], 1, 65536);
        else if (!strcmp(a, "--port-file") && more)
            port_file = argv[++i];
        else if (!strcmp(a, "--import") && i + 2 < argc) {
            import_dir = argv[++i];
            import_repo = argv[++i];
        } else if (!strcmp(a, "--branch") && more)
            branch = argv[++i];
        else if (!strcmp(a, "--private"))
            private_ = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "hxzoo serve: unknown or incomplete option %s\n", a);
            usage(stderr);
            return HX_EUSAGE;
        }
    }
    if (!o.root) {
        usage(stderr);
        return HX_EUSAGE;
    }
    hx_status st;
    if (import_dir) {
        char commit[41];
        st = hub_server_import(o.root, import_dir, import_repo, branch, private_, NULL, commit);
        if (st) {
            fprintf(stderr, "hxzoo serve --import: %s\n", hx_lasterr());
            return st;
        }
        printf("%s\n", commit);
        return 0;
    }
    hub_server *s;
    if ((st = hub_server_start(&o, &s))) {
        fprintf(stderr, "hxzoo serve: %s\n", hx_lasterr());
        return st;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    int port = hub_server_port(s);
    if (port_file) {
        char buf[16];
        int n = snprintf(buf, sizeof buf, "%d\n", port);
        hx_write_file_atomic(port_file, buf, (size_t)n);
    }
    hx_info("hxzoo serve: listening on http://%s:%d (root %s%s)", o.host ? o.host : "127.0.0.1", port, o.root,
            o.tokens_file ? ", tokens enforced" : ", open mode");
    while (!g_stop)
        pause();
    hub_server_stop(s);
    return 0;
}
