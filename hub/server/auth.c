/* auth.c - who is calling and what may they do. Without a tokens
 * file the server is open: any token (or none) may read and write. With
 * one (lines "TOKEN USER read|write [ORG,ORG...]", '#' comments), unknown
 * tokens get 401, writes need a write token for the namespace (the user or
 * one of its orgs), private repos answer 401/404 RepoNotFound to others
 * like the Hub, and gated repos answer 401/403 GatedRepo to file reads
 * (their info and listings stay readable by anyone, as on the Hub). */
#include "hub/server/server_internal.h"

#include <stdlib.h>
#include <string.h>

hx_status srv_tokens_load(hub_server *s, const char *path)
{
    char *txt = NULL;
    hx_status st = hx_read_file(path, 1 << 20, &txt, NULL);
    if (st)
        return st;
    char *save = NULL;
    int lineno = 0;
    for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        while (*line == ' ' || *line == '\t')
            line++;
        if (!*line || *line == '#' || *line == '\r')
            continue;
        char *f[4] = {0};
        int nf = 0;
        char *s2 = NULL;
        for (char *w = strtok_r(line, " \t\r", &s2); w && nf < 4; w = strtok_r(NULL, " \t\r", &s2))
            f[nf++] = w;
        if (nf < 3 || (strcmp(f[2], "read") && strcmp(f[2], "write"))) {
            free(txt);
            return HX_FAIL(HX_EFORMAT, "%s:%d: expected 'TOKEN USER read|write [ORGS]'", path, lineno);
        }
        s->toks = hx_realloc(s->toks, (s->ntoks + 1) * sizeof *s->toks);
        srv_token *t = &s->toks[s->ntoks++];
        memset(t, 0, sizeof *t);
        t->token = hx_strdup(f[0]);
        t->user = hx_strdup(f[1]);
        t->write = !strcmp(f[2], "write");
        if (f[3]) {
            char *s3 = NULL;
            for (char *o = strtok_r(f[3], ",", &s3); o; o = strtok_r(NULL, ",", &s3)) {
                t->orgs = hx_realloc(t->orgs, (t->norgs + 1) * sizeof *t->orgs);
                t->orgs[t->norgs++] = hx_strdup(o);
            }
        }
    }
    free(txt);
    return HX_OK;
}

void srv_tokens_free(hub_server *s)
{
    for (size_t i = 0; i < s->ntoks; i++) {
        free(s->toks[i].token);
        free(s->toks[i].user);
        for (size_t k = 0; k < s->toks[i].norgs; k++)
            free(s->toks[i].orgs[k]);
        free(s->toks[i].orgs);
    }
    free(s->toks);
    s->toks = NULL;
    s->ntoks = 0;
}

void srv_identify(srv_req *r)
{
    const char *h = srv_header(r, "Authorization");
    r->anon = 1;
    r->user = "user";
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return;
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    if (!*tok)
        return;
    if (r->srv->open_mode) {
        r->anon = 0;
        return;
    }
    for (size_t i = 0; i < r->srv->ntoks; i++)
        if (!strcmp(r->srv->toks[i].token, tok)) {
            r->tok = &r->srv->toks[i];
            r->anon = 0;
            r->user = r->tok->user;
            return;
        }
    /* Upload/complete routes authenticate by URL signature; a stray
     * Authorization header there must not make them fail. */
    if (strncmp(r->path, "/_lfs/", 6) != 0)
        r->bad_token = 1;
}

static int ns_member(const srv_token *t, const char *ns)
{
    if (!t)
        return 0;
    if (!strcmp(t->user, ns))
        return 1;
    for (size_t i = 0; i < t->norgs; i++)
        if (!strcmp(t->orgs[i], ns) || !strcmp(t->orgs[i], "*"))
            return 1;
    return 0;
}

static char *ns_of(const char *repo)
{
    const char *sl = strchr(repo, '/');
    return sl ? hx_asprintf("%.*s", (int)(sl - repo), repo) : hx_strdup("");
}

int srv_may_write_ns(srv_req *r, const char *ns)
{
    if (r->srv->open_mode)
        return 1;
    return r->tok && r->tok->write && (!*ns || ns_member(r->tok, ns));
}

int srv_access(srv_req *r, const st_repo *repo, int write, enum MHD_Result *ret)
{
    if (r->srv->open_mode)
        return 1;
    char *ns = ns_of(repo->id);
    int member = ns_member(r->tok, ns);
    free(ns);
    if (repo->private_ && !member) {
        *ret = srv_err(r, r->anon ? 401 : 404, "RepoNotFound",
                       "Repository Not Found for url: %s. Please make sure you specified the correct `repo_id` "
                       "and `repo_type`. If you are trying to access a private or gated repo, make sure you are "
                       "authenticated.",
                       r->path);
        return 0;
    }
    if (write > 0) {
        if (r->anon) {
            *ret = srv_err(r, 401, NULL, "You must be authenticated to write to %s", repo->id);
            return 0;
        }
        if (!member || !r->tok->write) {
            *ret = srv_err(r, 403, NULL, "You don't have the rights to write to %s (token '%s' is %s)", repo->id,
                           r->tok->user, r->tok->write ? "write, but not a member" : "read-only");
            return 0;
        }
        return 1;
    }
    /* a public gated repo's info, listing and history are readable by
     * anyone; only its files (resolve, raw, LFS download) are gated */
    if (repo->gated[0] && !member && write != SRV_READ_META) {
        int granted = 0;
        cJSON *g;
        if (r->tok && repo->granted)
            cJSON_ArrayForEach(g, repo->granted) if (cJSON_IsString(g) && !strcmp(g->valuestring, r->tok->user))
                granted = 1;
        if (!granted) {
            if (r->anon)
                *ret = srv_err(r, 401, "GatedRepo",
                               "Access to model %s is restricted. You must have access to it and be authenticated "
                               "to access it. Please log in.",
                               repo->id);
            else
                *ret = srv_err(r, 403, "GatedRepo",
                               "Access to model %s is restricted and you are not in the authorized list. Visit "
                               "%s/%s to ask for access.",
                               repo->id, r->base, repo->id);
            return 0;
        }
    }
    return 1;
}

int srv_open_repo(srv_req *r, const char *type, const char *id, st_repo *repo, int write, enum MHD_Result *ret)
{
    if (store_repo_get(r->srv->st, type, id, repo) != HX_OK) {
        *ret = srv_err(r, r->anon && !r->srv->open_mode ? 401 : 404, "RepoNotFound",
                       "Repository Not Found for url: %s. Please make sure you specified the correct `repo_id` and "
                       "`repo_type`. If you are trying to access a private or gated repo, make sure you are "
                       "authenticated.",
                       r->path);
        return 0;
    }
    if (!srv_access(r, repo, write, ret)) {
        st_repo_free(repo);
        return 0;
    }
    return 1;
}

int srv_check_repo(srv_req *r, const char *type, const char *id, int write, enum MHD_Result *ret)
{
    st_repo repo;
    if (!srv_open_repo(r, type, id, &repo, write, ret))
        return 0;
    st_repo_free(&repo);
    return 1;
}
