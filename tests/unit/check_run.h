/* check_run.h - the one way our Check test binaries run their suite:
 * Check's normal output (its closing "N%: Checks: ..." line is what CI
 * reads), exit status 1 if any test failed. */
#ifndef HX_CHECK_RUN_H
#define HX_CHECK_RUN_H

#include <check.h>

static inline int hx_check_run(Suite *s)
{
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}

#endif
