/* ft_jsonl: a small JSON-lines field extractor — the string members of one JSON
 * object per line (RFC 8259), as the common Reddit comment dumps hold them (one
 * comment a line: {"author": "...", "body": "...", ...}). Only the requested
 * top-level members are decoded; every other value (nested objects and arrays too) is
 * checked for well-formedness and skipped. Strings are decoded to UTF-8 (\uXXXX
 * escapes and surrogate pairs included; a lone surrogate is an error). */
#ifndef FT_JSONL_H
#define FT_JSONL_H

#include <stddef.h>
#include <stdint.h>

/* One requested member: its name in, its decoded value out. */
typedef struct {
    const char *name;  /* member name to find at the top level */
    const char *value; /* out: its string, NUL-terminated, in the caller's buffer; NULL when
                          the member is missing or null */
    size_t len;        /* out: bytes in value */
} ft_jsonl_field_t;

/* Parses line `line` of file path, text[0..len) (one JSON object, white space around it
 * allowed), filling fields[0..n). buf needs room for len + 1 bytes per field (a decoded
 * string is never longer than its JSON text). FT_EFORMAT "path:line: column C: WHAT"
 * for malformed JSON, a line that is not an object, or a requested member whose value is
 * neither a string nor null; the last of duplicate members wins. */
int ft_jsonl_fields(const char *path, uint32_t line, const char *text, size_t len,
                    ft_jsonl_field_t *fields, int n, char *buf);

#endif
