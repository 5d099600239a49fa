/* fuzz_manifest.c - a zoo manifest (zoo/manifest.json) into
 * zoo/manifest.c: written to a scratch file and loaded with
 * zoo_manifest_load (every model's fields checked: names, repos, revision,
 * codec k and sidecar fraction, eval protocol and sizes, gates, no name
 * twice); each accepted model is then looked up and its text path and
 * target (with and without an organisation) built. */
#include "tests/fuzz/util.h"
#include "zoo/zoo.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    fz_clear();
    char *p = fz_write("manifest.json", data, size);
    if (!p)
        return 0;
    zoo_manifest z;
    if (zoo_manifest_load(p, &z) == HX_OK) {
        for (size_t i = 0; i < z.n; i++) {
            const zoo_model *m = &z.m[i];
            if (zoo_find(&z, m->name) != m || m->k < 2 || m->k > 256)
                abort();
            free(zoo_text_path(&z, m));
            free(zoo_target(m, NULL));
            free(zoo_target(m, "fuzz-org"));
        }
        zoo_find(&z, "");
        zoo_manifest_free(&z);
    }
    free(p);
    hx_clearerr();
    return 0;
}
