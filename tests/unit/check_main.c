/* check_main.c - the one main() of the Check unit-test binaries: runs the
 * suite the test file gives (hx_test_suite, tests/unit/check_main.h) with
 * Check's normal output (its closing "N%: Checks: ..." line is what CI
 * reads); exit status 1 if any test failed, else 0. */
#include "tests/unit/check_main.h"

int main(void)
{
    SRunner *r = srunner_create(hx_test_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
