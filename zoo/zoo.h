/* zoo.h - the zoo: its manifest (zoo/manifest.json, docs/ZOO.md) and the
 * staged, resumable `hxzoo build` of one model (resolve -> download ->
 * compress -> validate -> card -> upload -> verify), each stage leaving a
 * JSON receipt in the build directory. */
#ifndef HX_ZOO_H
#define HX_ZOO_H

#include "common/hx.h"

typedef struct zoo_gates {
    double min_cosine;   /* every compressed tensor at least this */
    double max_dppl_pct; /* (PPL(hxq) - PPL(base)) / PPL(base) * 100 at most */
    double max_kld;      /* mean KL(base || hxq) at most */
} zoo_gates;

typedef struct zoo_eval_spec {
    char *protocol;      /* helix | gptq | sliding */
    char *text;          /* path of the raw text, relative to the zoo root */
    char *dataset_type;  /* model-index dataset.type (e.g. wikitext) */
    char *dataset_name;  /* model-index dataset.name */
    int seq_len;         /* window / context (0 = protocol default) */
    int stride;          /* sliding only (0 = default) */
    long n_tokens;       /* helix only (0 = default) */
} zoo_eval_spec;

typedef struct zoo_model {
    char *name;          /* short name: hxzoo build NAME */
    char *source;        /* upstream repo */
    char *revision;      /* branch/tag (followed) or a 40-hex commit (pinned) */
    char *layout;        /* NULL (transformers) or "mamba_ssm": converted after the
                          * download (codec/layout.h), which needs a tokenizer: */
    char *tok_repo;      /* "tokenizer": {"repo", "revision"} (mamba_ssm only) */
    char *tok_revision;
    int pinned;          /* revision is a commit */
    char *target;        /* published repo (ORG/NAME; --org replaces ORG) */
    char *arch;          /* llama, qwen2, zamba2, mamba2, mamba */
    char *license;       /* when the source card states none */
    char *pipeline_tag;
    int k;               /* codec: codebook size */
    double sidecar_fraction;
    int compat_033;
    zoo_eval_spec eval;
    zoo_gates gates;
    char digest[65];     /* sha256 of the entry's JSON as written */
    int test_model;      /* one of the toolkit's test models */
} zoo_model;

typedef struct zoo_manifest {
    char *path;
    char *root;          /* directory the texts are relative to */
    zoo_model *m;
    size_t n;
} zoo_manifest;

/* The default manifest: $HXZOO_MANIFEST, else zoo/manifest.json found above
 * the running executable, else ./zoo/manifest.json. Caller frees. */
char *zoo_default_manifest(void);
/* Load and validate a manifest; path NULL: zoo_default_manifest(). */
hx_status zoo_manifest_load(const char *path, zoo_manifest *out);
void zoo_manifest_free(zoo_manifest *z);
const zoo_model *zoo_find(const zoo_manifest *z, const char *name);
/* Absolute path of the model's evaluation text (caller frees). */
char *zoo_text_path(const zoo_manifest *z, const zoo_model *m);
/* The target repo with its organisation replaced by org (NULL: as is). */
char *zoo_target(const zoo_model *m, const char *org);

/* ---- build ---- */
typedef struct zoo_build_opts {
    const char *endpoint;   /* NULL: $HF_ENDPOINT */
    const char *org;        /* replaces the target's organisation */
    const char *build_dir;  /* NULL: $HXZOO_BUILD_ROOT/NAME or zoo-build/NAME */
    int device;             /* hx_device (eval/eval.h): 0 auto, 1 cpu, 2 cuda */
    int dtype;              /* hx_compute_dtype (eval/eval.h): 0 auto, 1 f32, 2 bf16 */
    int no_upload;          /* stop after the card */
    int force;              /* discard earlier stages, publish even if up to date */
    int threads;            /* codec threads (0 = all) */
    const char *stop_after; /* stage name: stop there (tests: interrupted builds) */
    const char *command_line;
} zoo_build_opts;

/* Stages, in order. */
typedef enum {
    ZOO_ST_RESOLVE = 0, ZOO_ST_DOWNLOAD, ZOO_ST_COMPRESS, ZOO_ST_VALIDATE,
    ZOO_ST_CARD, ZOO_ST_UPLOAD, ZOO_ST_VERIFY, ZOO_ST_COUNT
} zoo_stage;
const char *zoo_stage_name(zoo_stage s);

typedef struct zoo_build_result {
    char source_commit[41];
    char published_commit[41];
    int up_to_date;         /* the published repo already had this build */
    int committed;          /* the upload made a new commit */
    int resumed_at;         /* first stage that ran (-1: none) */
    char *build_dir;        /* caller frees */
} zoo_build_result;

/* Build (or resume) one model. HX_EGATE when a gate failed (the message
 * names the tensor or metric and the margin); nothing is uploaded then. */
hx_status zoo_build(const zoo_manifest *z, const zoo_model *m, const zoo_build_opts *o,
                    zoo_build_result *r);
void zoo_build_result_free(zoo_build_result *r);

/* The build directory of a model (caller frees). */
char *zoo_build_dir(const zoo_model *m, const char *explicit_dir);
/* Number of finished stages in a build directory; *failed = 1 when the
 * validate stage recorded a failed gate. */
int zoo_build_progress(const char *build_dir, int *failed);

/* Build receipt published with the model (hxzoo_build.json) and used by
 * the CI rebuild decision. */
#define ZOO_BUILD_RECEIPT "hxzoo_build.json"

#endif
