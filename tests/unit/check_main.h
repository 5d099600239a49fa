/* check_main.h - what every Check unit-test file gives the shared main()
 * (tests/unit/check_main.c, linked into each build/tests/test_* binary by
 * the Makefile): the file's suite. */
#ifndef HX_CHECK_MAIN_H
#define HX_CHECK_MAIN_H

#include <check.h>

/* The test file's suite (one per test file; the shared main runs it). */
Suite *hx_test_suite(void);

#endif
