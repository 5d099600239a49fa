/* repo_api.c - the client's repo metadata calls: resolve a revision to a
 * commit, list every file of a commit (all pages, every entry validated:
 * safe path, hex ids, consistent sizes), create a repo, ensure a branch. */
#include "hub/client_internal.h"

#include <stdlib.h>
#include <string.h>

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const hub_entry *)a)->path, ((const hub_entry *)b)->path);
}

void hub_listing_free(hub_listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->files[i].path);
    free(l->files);
    memset(l, 0, sizeof *l);
}

hx_status hub_resolve_revision(hub_client *c, const char *repo, const char *rev, char commit[41])
{
    if (!hub_repo_id_valid(repo))
        return HX_FAIL(HX_EINVAL, "'%.120s' is not a valid repo id (namespace/name)", repo);
    if (!rev || !*rev)
        rev = "main";
    if (c->offline) {
        if (hub_is_commit_id(rev)) {
            memcpy(commit, rev, 41);
            return HX_OK;
        }
        if (hub_cache_read_ref(c, repo, rev, commit))
            return HX_OK;
        return HX_FAIL(HX_ENOTFOUND, "%s@%s: offline (HF_HUB_OFFLINE) and this revision is not in the cache %s",
                       repo, rev, c->cache_dir);
    }
    char *enc = hub_urlencode(rev, 0);
    char *base = hub_repo_api(c, repo);
    char *url = hx_asprintf("%s/revision/%s?expand=sha", base, enc);
    free(base);
    free(enc);
    CURL *h = hub_curl_new(c);
    cJSON *j = NULL;
    char what[400];
    snprintf(what, sizeof what, "%s@%s", repo, rev);
    hx_status st = hub_api_json(c, h, "GET", url, NULL, NULL, 0, 1, NULL, &j, what);
    curl_easy_cleanup(h);
    free(url);
    if (st)
        return st;
    st = hub_parse_revision(j, what, commit);
    cJSON_Delete(j);
    return st;
}

hx_status hub_parse_revision(const cJSON *j, const char *what, char commit[41])
{
    const char *sha = cJSON_GetStringValue(cJSON_GetObjectItem(j, "sha"));
    if (!sha || !hub_is_commit_id(sha))
        return HX_FAIL(HX_EFORMAT, "%s: the server's repo info has no valid 'sha'", what);
    memcpy(commit, sha, 41);
    return HX_OK;
}

static hx_status parse_entry(cJSON *e, hub_entry *x, const char *what)
{
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));
    const char *oid = cJSON_GetStringValue(cJSON_GetObjectItem(e, "oid"));
    cJSON *sz = cJSON_GetObjectItem(e, "size");
    if (!path)
        return HX_FAIL(HX_EFORMAT, "%s: listing entry without a path", what);
    if (!hub_path_safe(path)) {
        hx_preerr("%s: the server listed a file name that is refused", what);
        return HX_EFORMAT;
    }
    if (!oid || !hx_is_hex(oid, 40))
        return HX_FAIL(HX_EFORMAT, "%s: listing entry %.200s has no valid git oid", what, path);
    /* range-checked before the conversion; a single file above 1 TiB (the
     * Hub stores at most 50 GB per LFS object) is a lie that would size
     * the download's chunk plan and journal from the claim */
    if (!cJSON_IsNumber(sz) || !(sz->valuedouble >= 0 && sz->valuedouble <= HUB_MAX_FILE_SIZE))
        return HX_FAIL(HX_EFORMAT, "%s: listing entry %.200s has no valid size (%g; at most %.0f)", what,
                       path, cJSON_IsNumber(sz) ? sz->valuedouble : -1.0, HUB_MAX_FILE_SIZE);
    x->path = hx_strdup(path);
    x->size = (uint64_t)sz->valuedouble;
    memcpy(x->oid, oid, 41);
    x->sha256[0] = 0;
    cJSON *lfs = cJSON_GetObjectItem(e, "lfs");
    if (lfs && !cJSON_IsNull(lfs)) {
        const char *lo = cJSON_GetStringValue(cJSON_GetObjectItem(lfs, "oid"));
        cJSON *ls = cJSON_GetObjectItem(lfs, "size");
        if (!lo || !hx_is_hex(lo, 64) || !cJSON_IsNumber(ls) ||
            !(ls->valuedouble >= 0 && ls->valuedouble <= HUB_MAX_FILE_SIZE) ||
            (uint64_t)ls->valuedouble != x->size) {
            hx_seterr("%s: listing entry %.200s has an invalid lfs record", what, path);
            free(x->path);
            x->path = NULL;
            return HX_EFORMAT;
        }
        memcpy(x->sha256, lo, 65);
    }
    return HX_OK;
}

hx_status hub_list_files(hub_client *c, const char *repo, const char *commit, hub_listing *out)
{
    memset(out, 0, sizeof *out);
    if (c->offline)
        return hub_cache_read_tree(c, repo, commit, out);
    char what[300];
    snprintf(what, sizeof what, "listing %s@%.12s", repo, commit);
    char *base = hub_repo_api(c, repo);
    char *url = hx_asprintf("%s/tree/%s?recursive=true&expand=false", base, commit);
    free(base);
    CURL *h = hub_curl_new(c);
    size_t cap = 0;
    hx_status st = HX_OK;
    /* at most 1,000,000 files (below) in pages the Hub makes of 1000: a
     * server that keeps sending `next` past 2000 pages is looping */
    for (int page = 0; url; page++) {
        if (page >= 2000) {
            st = HX_FAIL(HX_EFORMAT, "%s: more than 2000 pages (the server's Link: next does not end)",
                         what);
            break;
        }
        hub_http_req rq = {.method = "GET", .url = url, .follow = 1, .retry = 1, .max_resp = (size_t)64 << 20};
        hub_http_resp rs = {0};
        st = hub_http(c, h, &rq, &rs);
        if (st) {
            hx_preerr("%s", what);
        } else if (rs.status != 200) {
            st = hub_http_error(&rs, what);
        }
        if (!st)
            st = hub_parse_tree_page(rs.body, rs.len, what, out, &cap);
        if (!st && rs.link_next && !strcmp(rs.link_next, url))
            st = HX_FAIL(HX_EFORMAT, "%s: the server's Link: next points to the same page (%.200s)", what,
                         url);
        free(url);
        url = !st && rs.link_next ? hx_strdup(rs.link_next) : NULL;
        hub_http_resp_free(&rs);
        if (st)
            break;
    }
    free(url);
    curl_easy_cleanup(h);
    if (st) {
        hub_listing_free(out);
        return st;
    }
    memcpy(out->commit, commit, 41);
    return hub_listing_check(out, what);
}

hx_status hub_parse_tree_page(const char *body, size_t len, const char *what, hub_listing *out, size_t *cap)
{
    cJSON *arr = body ? cJSON_ParseWithLength(body, len) : NULL;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return HX_FAIL(HX_EFORMAT, "%s: the tree listing is not a JSON array", what);
    }
    hx_status st = HX_OK;
    cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(e, "type"));
        if (!type || strcmp(type, "file"))
            continue;
        if (out->n >= 1000000) {
            st = HX_FAIL(HX_EFORMAT, "%s: more than 1000000 files", what);
            break;
        }
        if (out->n == *cap)
            out->files = hx_realloc(out->files, (*cap = *cap ? *cap * 2 : 256) * sizeof *out->files);
        if ((st = parse_entry(e, &out->files[out->n], what)))
            break;
        out->n++;
    }
    cJSON_Delete(arr);
    return st;
}

hx_status hub_listing_check(hub_listing *out, const char *what)
{
    hx_status st;
    if (out->n)
        qsort(out->files, out->n, sizeof *out->files, entry_cmp);
    for (size_t i = 0; i + 1 < out->n; i++)
        if (!strcmp(out->files[i].path, out->files[i + 1].path)) {
            st = HX_FAIL(HX_EFORMAT, "%s: %s listed twice", what, out->files[i].path);
            hub_listing_free(out);
            return st;
        }
    /* a file may not also be a folder of another file */
    for (size_t i = 0; i < out->n; i++) {
        char *p = hx_strdup(out->files[i].path);
        for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
            *s = 0;
            hub_entry key = {.path = p};
            if (bsearch(&key, out->files, out->n, sizeof key, entry_cmp)) {
                hx_seterr("%s: %s is both a file and a folder", what, p);
                free(p);
                hub_listing_free(out);
                return HX_EFORMAT;
            }
            *s = '/';
        }
        free(p);
    }
    return HX_OK;
}

hx_status hub_create_repo(hub_client *c, const char *repo, int private_, int exist_ok)
{
    if (!hub_repo_id_valid(repo) || !strchr(repo, '/'))
        return HX_FAIL(HX_EINVAL, "'%.120s' is not a valid repo id (namespace/name)", repo);
    const char *sl = strchr(repo, '/');
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "name", sl + 1);
    char *ns = hx_asprintf("%.*s", (int)(sl - repo), repo);
    cJSON_AddStringToObject(b, "organization", ns);
    free(ns);
    cJSON_AddStringToObject(b, "visibility", private_ ? "private" : "public");
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    char *url = hx_asprintf("%s/api/repos/create", c->endpoint);
    CURL *h = hub_curl_new(c);
    long status = 0;
    cJSON *j = NULL;
    char what[200];
    snprintf(what, sizeof what, "creating repo %s", repo);
    hx_status st = hub_api_json(c, h, "POST", url, "application/json", body, strlen(body), 1, &status, &j, what);
    curl_easy_cleanup(h);
    free(url);
    free(body);
    cJSON_Delete(j);
    if (st)
        return st;
    if (status == 409 && !exist_ok)
        return HX_FAIL(HX_EINVAL, "%s: it already exists", what);
    if (status == 412)
        return HX_FAIL(HX_ENET, "%s: HTTP 412", what);
    return HX_OK;
}

hx_status hub_validate_card(hub_client *c, const char *readme, char **warnings)
{
    *warnings = NULL;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "content", readme);
    cJSON_AddStringToObject(b, "repoType", "model");
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    char *url = hx_asprintf("%s/api/validate-yaml", c->endpoint);
    char what[300];
    snprintf(what, sizeof what, "checking the card with %.200s", url);
    hub_http_req rq = {.method = "POST", .url = url, .content_type = "application/json", .accept = "application/json",
                       .body = body, .body_len = strlen(body), .follow = 1, .retry = 1, .max_resp = (size_t)1 << 20};
    hub_http_resp rs = {0};
    CURL *h = hub_curl_new(c);
    hx_status st = hub_http(c, h, &rq, &rs);
    curl_easy_cleanup(h);
    free(body);
    free(url);
    if (st) {
        hx_preerr("%s", what);
        hub_http_resp_free(&rs);
        return st;
    }
    /* {"errors": [{"message"}], "warnings": [...]}: each list joined */
    cJSON *j = rs.body ? cJSON_ParseWithLength(rs.body, rs.len) : NULL;
    char *msg[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        hx_buf joined = HX_BUF_INIT;
        cJSON *m, *list = cJSON_GetObjectItem(j, k ? "warnings" : "errors");
        cJSON_ArrayForEach(m, list)
        {
            const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(m, "message"));
            hx_buf_printf(&joined, "%s%s", joined.data ? "; " : "", t ? t : "(no message)");
        }
        msg[k] = hx_buf_steal(&joined, NULL);
    }
    cJSON_Delete(j);
    if (rs.status == 400)
        st = HX_FAIL(HX_EFORMAT, "the Hub refused the card's metadata: %.1500s",
                     msg[0] ? msg[0] : "(no message; HTTP 400)");
    else if (rs.status < 200 || rs.status >= 300)
        st = hub_http_error(&rs, what);
    else
        *warnings = msg[1], msg[1] = NULL;
    free(msg[0]);
    free(msg[1]);
    hub_http_resp_free(&rs);
    return st;
}
