/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file json.h
 * @brief A small streaming JSON writer for famfs-gw's --json output.
 *
 * Owns: the comma and nesting state of one document. Pass a NULL key inside arrays.
 */
#ifndef FAMFS_GW_JSON_H
#define FAMFS_GW_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH 16

struct jw {
	FILE *f;
	int depth;
	bool need_comma[JW_MAX_DEPTH];
};

void jw_init(struct jw *w, FILE *f);
void jw_obj_begin(struct jw *w, const char *key);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w, const char *key);
void jw_arr_end(struct jw *w);
void jw_str(struct jw *w, const char *key, const char *val);
/** A string of at most @p max bytes that need not be NUL-terminated. */
void jw_strn(struct jw *w, const char *key, const char *val, size_t max);
void jw_u64(struct jw *w, const char *key, uint64_t val);
void jw_bool(struct jw *w, const char *key, bool val);
/** "0x..." as a string, as the famfs manifests write offsets and magics. */
void jw_hex(struct jw *w, const char *key, uint64_t val);
/** "0o755" as a string. */
void jw_oct(struct jw *w, const char *key, unsigned int val);
/** End the document with a newline. */
void jw_finish(struct jw *w);

#endif /* FAMFS_GW_JSON_H */
