/* server_int.h - what the server_*.c files share: the server object, the
 * per-request context, response helpers (server_http.c), access control
 * (server_auth.c), fault injection (server_fault.c) and the route handlers
 * (server_read.c, server_write.c, server_lfs.c). */
#ifndef HX_HUB_SERVER_INT_H
#define HX_HUB_SERVER_INT_H

#include "hub/internal.h"
#include "hub/server.h"
#include "hub/store.h"

#include <cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct srv_token {
    char *token, *user;
    int write;
    char **orgs;
    size_t norgs;
} srv_token;

typedef struct srv_faults {
    int every_429, every_500, drop_every, dropup_every, slow_every, slow_ms, corrupt_every, lie_size;
    int commit_lost; /* first N commits: applied, then the connection drops */
    uint64_t drop_after, dropup_after;
    int max; /* at most this many faults in total (0 = unlimited) */
    atomic_ulong nreq, nbody, nbig, nup, ncommit; /* nbig: bodies longer than drop_after */
    atomic_int fired;
} srv_faults;

struct hub_server {
    struct MHD_Daemon *d;
    hub_store *st;
    int port;
    srv_token *toks;
    size_t ntoks;
    int open_mode;
    srv_faults f;
    uint64_t mp_chunk;
    /* multipart uploads in progress: SHA-256 of the parts in order as they
     * complete (server_lfs.c) */
    pthread_mutex_t mp_mu;
    pthread_cond_t mp_cv;
    struct srv_mp *mps;
};

/* Per-request state that lives across the MHD access-handler calls. */
enum { BODY_MEM = 0, BODY_LFS_PUT, BODY_LFS_PART };
typedef struct srv_conn {
    int kind;
    char *body;
    size_t len, cap, max;
    int too_big;
    /* streamed uploads */
    int fd;
    char *tmp;
    hub_hasher h;
    int hashing;
    uint64_t got, expect, offset;
    char oid[65];
    int part;
    hub_server *srv;
    int mp_writer;        /* counted as a writer of its part (server_mp.c) */
    hub_gather g;         /* received, not yet written (server_lfs.c) */
    int upload_err;       /* 0, or HTTP status to answer */
    char upload_msg[256];
    /* faults decided on the first call */
    int fault;            /* 0, 429, 500 */
    int drop_up;          /* drop the connection after dropup_after bytes */
} srv_conn;

typedef struct srv_req {
    hub_server *srv;
    struct MHD_Connection *c;
    const char *method;
    char *path;   /* raw (still percent-encoded) path, no query */
    char *query;  /* raw query string or "" */
    srv_conn *cx;
    const srv_token *tok;
    int anon, bad_token;
    const char *user; /* token user, "user" in open mode */
    char *base;   /* "http://host[:port]" as the client addressed us */
} srv_req;

/* ---- server_http.c ---- */
enum MHD_Result srv_send(srv_req *r, int status, struct MHD_Response *resp);
enum MHD_Result srv_json(srv_req *r, int status, cJSON *j); /* takes j */
enum MHD_Result srv_err(srv_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
enum MHD_Result srv_text(srv_req *r, int status, const char *ctype, const char *text);
/* Query parameter (decoded, first occurrence) or NULL; caller frees. */
char *srv_query(const srv_req *r, const char *key);
/* All values of key (also key[]); returns count, fills up to max. */
size_t srv_query_all(const srv_req *r, const char *key, char **vals, size_t max);
int srv_query_bool(const srv_req *r, const char *key);
const char *srv_header(const srv_req *r, const char *name);
/* Serve [whole or Range of] a file with extra headers already on the
 * response; applies the drop/corrupt faults to GET bodies. */
enum MHD_Result srv_send_file(srv_req *r, const char *path, uint64_t size, const char *etag,
                              const char *repo_commit, const char *filename);
cJSON *srv_body_json(srv_req *r); /* NULL when missing or malformed */

/* ---- server_auth.c ---- */
hx_status srv_tokens_load(hub_server *s, const char *path);
void srv_tokens_free(hub_server *s);
void srv_identify(srv_req *r);
/* May the caller read/write repo? Returns 1; or 0 after queueing the
 * Hub's answer into *ret. */
int srv_access(srv_req *r, const st_repo *repo, int write, enum MHD_Result *ret);
/* May the caller create/write repos under namespace ns? */
int srv_may_write_ns(srv_req *r, const char *ns);
/* Resolve rev (branch, tag or commit) of a repo and load that commit;
 * on failure *ret holds the 404/500 answer already sent. */
int srv_load_rev(srv_req *r, const char *type, const char *repo, const char *rev, st_commit *c,
                 enum MHD_Result *ret);
/* The access check (read, or write) and srv_load_rev in one step. */
int srv_open_rev(srv_req *r, const char *type, const char *repo, const char *rev, int write, st_commit *c,
                 enum MHD_Result *ret);
/* Load repo + access check in one step; on failure *ret holds the answer
 * already sent (404 to outsiders, 401/403). */
int srv_open_repo(srv_req *r, const char *type, const char *id, st_repo *repo, int write,
                  enum MHD_Result *ret);
/* The same when the handler needs only the verdict, not the repo. */
int srv_check_repo(srv_req *r, const char *type, const char *id, int write, enum MHD_Result *ret);

/* ---- server_fault.c ---- */
hx_status srv_faults_parse(srv_faults *f, const char *spec);
/* Does event number n (1-based) of a class with period `every` get a
 * fault? Counts against the max budget. */
int srv_fault_hit(srv_faults *f, unsigned long n, int every);
/* log that fault KIND was injected ("fault injected: 429"): tests check
 * that the faults they configured fired */
void srv_fault_fired(const char *kind);
extern const char *srv_fault_env;

/* ---- handlers ---- */
enum MHD_Result srv_h_whoami(srv_req *r);
enum MHD_Result srv_h_repo_info(srv_req *r, const char *type, const char *repo, const char *rev);
enum MHD_Result srv_h_tree(srv_req *r, const char *type, const char *repo, const char *rev, const char *path);
enum MHD_Result srv_h_paths_info(srv_req *r, const char *type, const char *repo, const char *rev);
enum MHD_Result srv_h_refs(srv_req *r, const char *type, const char *repo);
enum MHD_Result srv_h_commits(srv_req *r, const char *type, const char *repo, const char *rev);
enum MHD_Result srv_h_resolve(srv_req *r, const char *type, const char *repo, const char *rev, const char *path,
                              int raw);
enum MHD_Result srv_h_create_repo(srv_req *r);
enum MHD_Result srv_h_delete_repo(srv_req *r);
enum MHD_Result srv_h_settings(srv_req *r, const char *type, const char *repo);
enum MHD_Result srv_h_preupload(srv_req *r, const char *type, const char *repo, const char *rev);
enum MHD_Result srv_h_commit(srv_req *r, const char *type, const char *repo, const char *rev);
enum MHD_Result srv_h_branch(srv_req *r, const char *type, const char *repo, const char *name);
enum MHD_Result srv_h_tag(srv_req *r, const char *type, const char *repo, const char *name);
enum MHD_Result srv_h_lfs_batch(srv_req *r, const char *type, const char *repo);
enum MHD_Result srv_h_lfs_object(srv_req *r, const char *oid);
/* Streamed upload bodies: called on the first call to set up, per chunk
 * and at the end. */
int srv_lfs_upload_begin(srv_req *r, const char *what, const char *oid, int part);
void srv_lfs_upload_data(srv_req *r, const char *data, size_t n);
enum MHD_Result srv_lfs_upload_end(srv_req *r);
enum MHD_Result srv_h_lfs_complete(srv_req *r, const char *oid);
enum MHD_Result srv_h_lfs_verify(srv_req *r, const char *oid);
void srv_conn_free(srv_conn *cx);
/* A part upload that did not finish: release its multipart state. */
/* multipart uploads: the object's SHA-256 in part order (server_mp.c) */
void srv_mp_part_begin(srv_conn *cx, uint64_t size, uint64_t chunk);
void srv_mp_part_end(srv_conn *cx, int ok);
void srv_mp_abandon(srv_conn *cx);
void srv_mp_wait_room(srv_conn *cx, uint64_t off); /* backpressure before writing at off */
/* 1 and sha set when every part was hashed in order; 0: hash the file */
int srv_mp_take_hash(hub_server *s, const char *oid, uint64_t size, char sha[65]);
void srv_mp_free_all(hub_server *s);
/* URL signature helpers */
char *srv_sign(hub_server *s, const char *what, const char *oid, uint64_t size, uint64_t chunk);
int srv_check_sig(srv_req *r, const char *what, const char *oid, uint64_t *size, uint64_t *chunk);

#endif
