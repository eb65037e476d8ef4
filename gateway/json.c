/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file json.c
 * @brief Streaming JSON writer (see json.h).
 */
#include <inttypes.h>
#include <string.h>

#include "json.h"

void jw_init(struct jw *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

static void put_escaped(FILE *f, const char *s, size_t max)
{
	fputc('"', f);
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void key(struct jw *w, const char *k)
{
	if (w->need_comma[w->depth])
		fputc(',', w->f);
	w->need_comma[w->depth] = true;
	if (k) {
		put_escaped(w->f, k, SIZE_MAX);
		fputc(':', w->f);
	}
}

void jw_obj_begin(struct jw *w, const char *k)
{
	if (w->depth || w->need_comma[0])
		key(w, k);
	fputc('{', w->f);
	w->need_comma[++w->depth] = false;
}

void jw_obj_end(struct jw *w)
{
	fputc('}', w->f);
	w->depth--;
}

void jw_arr_begin(struct jw *w, const char *k)
{
	key(w, k);
	fputc('[', w->f);
	w->need_comma[++w->depth] = false;
}

void jw_arr_end(struct jw *w)
{
	fputc(']', w->f);
	w->depth--;
}

void jw_str(struct jw *w, const char *k, const char *val)
{
	key(w, k);
	put_escaped(w->f, val, SIZE_MAX);
}

void jw_strn(struct jw *w, const char *k, const char *val, size_t max)
{
	key(w, k);
	put_escaped(w->f, val, max);
}

void jw_u64(struct jw *w, const char *k, uint64_t val)
{
	key(w, k);
	fprintf(w->f, "%" PRIu64, val);
}

void jw_bool(struct jw *w, const char *k, bool val)
{
	key(w, k);
	fputs(val ? "true" : "false", w->f);
}

void jw_hex(struct jw *w, const char *k, uint64_t val)
{
	key(w, k);
	fprintf(w->f, "\"0x%" PRIx64 "\"", val);
}

void jw_oct(struct jw *w, const char *k, unsigned int val)
{
	key(w, k);
	fprintf(w->f, "\"0o%o\"", val);
}

void jw_finish(struct jw *w)
{
	fputc('\n', w->f);
	fflush(w->f);
}
