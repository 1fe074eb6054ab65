/* ft_error: code descriptions and the per-thread detail message. */
#include "ft_error.h"

#include <stdio.h>

static _Thread_local char detail[1024];
static _Thread_local int detail_code;

const char *ft_strerror(int code)
{
    switch (code) {
    case FT_OK: return "success";
    case FT_EINVAL: return "invalid argument";
    case FT_ENOMEM: return "out of memory";
    case FT_EIO: return "input/output error";
    case FT_EFORMAT: return "malformed data";
    case FT_ECONFIG: return "bad configuration";
    case FT_ENET: return "network error";
    case FT_EPROTO: return "protocol error";
    case FT_EDIGEST: return "digest mismatch";
    case FT_ETIMEOUT: return "timed out";
    case FT_ENOTFOUND: return "not found";
    case FT_EUNSUPPORTED: return "not supported";
    case FT_ESTATE: return "invalid state";
    case FT_ECRYPTO: return "key or authentication error";
    case FT_EINTR: return "interrupted";
    case FT_ENONFINITE: return "model destroyed (NaN/Inf parameters)";
    default: return "unknown error";
    }
}

int ft_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    detail_code = code;
    return code;
}

const char *ft_error_message(void)
{
    if (detail[0] != '\0')
        return detail;
    return ft_strerror(detail_code);
}

void ft_error_clear(void)
{
    detail[0] = '\0';
    detail_code = FT_OK;
}
