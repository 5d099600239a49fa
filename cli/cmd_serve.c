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
    const char *import[2] = {NULL, NULL}, *branch = NULL, *port_file = NULL;
    int private_ = 0;
    const hx_opt opts[] = {
        HX_OPTE_STR("root", 0, &o.root),
        HX_OPTE_INT("port", &o.port, 0, 65535),
        HX_OPTE_STR("host", 0, &o.host),
        HX_OPTE_STR("tokens", 0, &o.tokens_file),
        HX_OPTE_STR("faults", 0, &o.faults),
        HX_OPTE_U64("multipart-chunk", &o.multipart_chunk, 1024, 1L << 40),
        HX_OPTE_UINT("max-connections", &o.max_connections, 1, 65536),
        HX_OPTE_STR("port-file", 0, &port_file),
        HX_OPTE_STR2("import", import),
        HX_OPTE_STR("branch", 0, &branch),
        HX_OPTE_FLAG("private", 0, &private_, 1),
        HX_OPTE_HELP('h'),
        HX_OPTE_END,
    };
    const hx_opts spec = {.prog = "hxzoo serve", .opts = opts, .style = HX_OPTS_EXACT, .usage = usage};
    hx_opts_args args;
    int rc = hx_opts_parse(&spec, argc, argv, &args);
    if (rc != HX_OPTS_GO)
        return rc;
    const char *import_dir = import[0], *import_repo = import[1];
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
