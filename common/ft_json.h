/* ft_json: numbers for JSON output. JSON has no literal for NaN or ±Inf (printf's
 * "nan" / "inf" make a line no JSON parser reads), so every JSON writer formats its
 * doubles here and gets null for them. */
#ifndef FT_JSON_H
#define FT_JSON_H

#include <stddef.h>

/* Writes v into buf (cap bytes, at least 16) as a JSON number — "%.*f" with
 * decimals digits, or "%.9g" when decimals < 0 or the fixed-point text would not fit
 * — or as null when v is not finite. Returns buf. */
const char *ft_json_num(char *buf, size_t cap, double v, int decimals);

#endif
