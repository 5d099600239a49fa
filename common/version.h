/* version.h - the hxzoo version, recorded in receipts and model cards. */
#ifndef HX_VERSION_H
#define HX_VERSION_H
#define HXZOO_VERSION "0.1.0"
#endif
