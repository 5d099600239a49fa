/* config.c - the client object and its configuration, resolved like the
 * Python tools: HF_ENDPOINT, HF_TOKEN then HF_TOKEN_PATH / $HF_HOME/token,
 * HF_HOME (default $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface),
 * HF_HUB_CACHE (default $HF_HOME/hub), HF_HUB_OFFLINE. Test knobs:
 * HXZOO_RETRY_BASE_MS, HXZOO_RETRIES, HXZOO_STALL_TIMEOUT. */
#include "hub/client_internal.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *env(const char *k)
{
    const char *v = getenv(k);
    return v && *v ? v : NULL;
}

static int env_true(const char *k)
{
    const char *v = env(k);
    return v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"));
}

/* Token text is cleaned like huggingface_hub: CR/LF removed, stripped. */
static char *clean_token(const char *t)
{
    char *o = hx_malloc(strlen(t) + 1), *w = o;
    for (const char *p = t; *p; p++)
        if (*p != '\r' && *p != '\n')
            *w++ = *p;
    *w = 0;
    char *s = o;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    char *r = n ? hx_strdup(s) : NULL;
    free(o);
    return r;
}

static curl_version_info_data *g_curl_ver;
static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_curl_ver = curl_version_info(CURLVERSION_NOW);
}

hx_status hub_client_new(const hub_config *cfg, hub_client **out)
{
    hub_config zero = {0};
    *out = NULL;
    if (!cfg)
        cfg = &zero;
    pthread_once(&g_curl_once, curl_init_once);
    hub_client *c = hx_calloc(1, sizeof *c);
    pthread_mutex_init(&c->xfer_mu, NULL);
    const char *ep = cfg->endpoint ? cfg->endpoint : env("HF_ENDPOINT");
    c->endpoint = hx_strdup(ep ? ep : "https://huggingface.co");
    size_t n = strlen(c->endpoint);
    while (n && c->endpoint[n - 1] == '/')
        c->endpoint[--n] = 0;
    if (strncmp(c->endpoint, "https://", 8) && strncmp(c->endpoint, "http://", 7)) {
        hx_seterr("endpoint '%s' must start with https:// or http://", c->endpoint);
        hub_client_free(c);
        return HX_EINVAL;
    }
    const char *home = env("HF_HOME");
    if (home) {
        c->hf_home = hx_strdup(home);
    } else if (env("XDG_CACHE_HOME")) {
        c->hf_home = hx_asprintf("%s/huggingface", env("XDG_CACHE_HOME"));
    } else {
        const char *h = env("HOME");
        c->hf_home = hx_asprintf("%s/.cache/huggingface", h ? h : "/tmp");
    }
    const char *cache = cfg->cache_dir ? cfg->cache_dir
                                       : env("HF_HUB_CACHE") ? env("HF_HUB_CACHE") : env("HUGGINGFACE_HUB_CACHE");
    c->cache_dir = cache ? hx_strdup(cache) : hx_asprintf("%s/hub", c->hf_home);
    if (cfg->token) {
        c->token = clean_token(cfg->token);
    } else if (env("HF_TOKEN") || env("HUGGING_FACE_HUB_TOKEN")) {
        c->token = clean_token(env("HF_TOKEN") ? env("HF_TOKEN") : env("HUGGING_FACE_HUB_TOKEN"));
    } else {
        char *tp = env("HF_TOKEN_PATH") ? hx_strdup(env("HF_TOKEN_PATH")) : hx_path_join(c->hf_home, "token");
        char *txt = NULL;
        size_t tl = 0;
        if (hx_read_file(tp, 4096, &txt, &tl) == HX_OK) {
            c->token = clean_token(txt);
            OPENSSL_cleanse(txt, tl); /* the file's copy of the token */
        }
        free(txt);
        free(tp);
        hx_clearerr();
    }
    c->offline = cfg->offline || env_true("HF_HUB_OFFLINE") || env_true("TRANSFORMERS_OFFLINE");
    c->jobs = cfg->jobs > 0 ? cfg->jobs : 8;
    if (c->jobs > 64)
        c->jobs = 64;
    c->progress = cfg->progress < 0 ? isatty(2) : cfg->progress;
    c->json = cfg->json;
    c->retry_base = env("HXZOO_RETRY_BASE_MS") ? atof(env("HXZOO_RETRY_BASE_MS")) / 1000.0 : 1.0;
    c->max_retries = env("HXZOO_RETRIES") ? atoi(env("HXZOO_RETRIES")) : 6;
    c->stall_timeout = env("HXZOO_STALL_TIMEOUT") ? atol(env("HXZOO_STALL_TIMEOUT")) : 30;
    if (c->stall_timeout < 1)
        c->stall_timeout = 1;
    *out = c;
    return HX_OK;
}

void hub_client_free(hub_client *c)
{
    if (!c)
        return;
    hub_transfers_free(c);
    pthread_mutex_destroy(&c->xfer_mu);
    if (c->token) {
        OPENSSL_cleanse(c->token, strlen(c->token)); /* a memset the compiler may drop */
        free(c->token);
    }
    free(c->endpoint);
    free(c->cache_dir);
    free(c->hf_home);
    free(c);
}

const char *hub_client_endpoint(const hub_client *c) { return c->endpoint; }
const char *hub_client_cache_dir(const hub_client *c) { return c->cache_dir; }
int hub_client_has_token(const hub_client *c) { return c->token != NULL; }

const char *hub_curl_version(void);
const char *hub_curl_version(void) { return g_curl_ver ? g_curl_ver->version : "?"; }
