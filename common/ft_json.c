/* ft_json: numbers for JSON output (see ft_json.h). */
#include "ft_json.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>

const char *ft_json_num(char *buf, size_t cap, double v, int decimals)
{
    assert(buf && cap >= 16);
    if (!isfinite(v))
        snprintf(buf, cap, "null");
    else if (decimals < 0 || (size_t)snprintf(buf, cap, "%.*f", decimals, v) >= cap)
        snprintf(buf, cap, "%.9g", v); /* (a huge value does not fit fixed-point) */
    return buf;
}
