/* fuzz_hub_answers.c - one JSON answer body into each of the Hub client's
 * answer parsers for the upload and resolve paths: the repo info of a
 * revision (hub_parse_revision, after the cJSON parse hub_api_json does),
 * the commit answer (hub_parse_commit_answer: commitOid), the preupload
 * answer for a fixed list of four local files (hub/upload.c: upload mode,
 * shouldIgnore, remote oid against the local hashes, each file answered
 * once) and the LFS batch answer for three fixed objects (hub/lfs.c:
 * actions, upload / verify hrefs, multipart chunk_size and part URLs, each
 * object answered once). */
#include "hub/client_internal.h"
#include "tests/fuzz/util.h"

#include <stdlib.h>
#include <string.h>

static const char *const paths[] = {"config.json", "model.safetensors", "sub/a b.txt", "big.bin"};
static const uint64_t sizes[] = {50, 3000000, 0, 12000000};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    const char *body = (const char *)data;
    char commit[41];
    cJSON *j = cJSON_ParseWithLength(body, size);
    if (j && hub_parse_revision(j, "fuzz", commit) == HX_OK && !hub_is_commit_id(commit))
        abort();
    cJSON_Delete(j);
    if (hub_parse_commit_answer(body, size, "fuzz", commit) == HX_OK && !hub_is_commit_id(commit))
        abort();
    size_t nchanged = 0;
    if (hub_preupload_answer_check(body, size, paths, sizes, 4, &nchanged) == HX_OK && nchanged > 4)
        abort(); /* each file counted at most once */
    static hub_lfs_obj objs[3];
    if (!objs[0].path) {
        objs[0] = (hub_lfs_obj){.path = "model.safetensors", .full = "/nonexistent", .size = 3000000};
        memset(objs[0].sha256, 'a', 64);
        objs[1] = (hub_lfs_obj){.path = "big.bin", .full = "/nonexistent", .size = 12000000};
        memcpy(objs[1].sha256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 65);
        objs[2] = (hub_lfs_obj){.path = "empty.bin", .full = "/nonexistent", .size = 0};
        memset(objs[2].sha256, 'c', 64);
    }
    hub_lfs_batch_answer_check(body, size, objs, 3);
    hx_clearerr();
    return 0;
}
