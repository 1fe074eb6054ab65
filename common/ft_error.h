/* ft_error: error codes shared by every module, and a per-thread detail message.
 *
 * Fallible functions return 0 on success or a negative FT_E* code. Where the code
 * alone cannot say what went wrong (which file, line, key or field), the function
 * also records a detail message with ft_error_set(); callers print
 * ft_error_message() to the user. */
#ifndef FT_ERROR_H
#define FT_ERROR_H

#include <stdarg.h>

enum {
    FT_OK = 0,
    FT_EINVAL = -1,        /* invalid argument or value */
    FT_ENOMEM = -2,        /* allocation failed */
    FT_EIO = -3,           /* read/write/open failed */
    FT_EFORMAT = -4,       /* malformed or damaged file contents */
    FT_ECONFIG = -5,       /* bad experiment configuration */
    FT_ENET = -6,          /* network / socket failure */
    FT_EPROTO = -7,        /* malformed or unexpected protocol message */
    FT_EDIGEST = -8,       /* SHA-256 digest mismatch */
    FT_ETIMEOUT = -9,      /* a deadline passed */
    FT_ENOTFOUND = -10,    /* named thing does not exist */
    FT_EUNSUPPORTED = -11, /* feature not built or not available here */
    FT_ESTATE = -12,       /* operation not valid in the current state */
    FT_ECRYPTO = -13,      /* key handling or authentication failure */
    FT_EINTR = -14,        /* interrupted by a signal */
    FT_ENONFINITE = -15,   /* the global model holds NaN/Inf (run.on_nonfinite = stop) */
};

/* Short fixed description of an FT_E* code ("invalid argument"). */
const char *ft_strerror(int code);

/* Records a detail message for the calling thread and returns code unchanged, so
 * that `return ft_error_set(FT_EFORMAT, "%s: bad magic", path);` reads naturally. */
int ft_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last detail message recorded on this thread, or ft_strerror(code) of the last
 * code if none was given. Never NULL. */
const char *ft_error_message(void);

/* Forgets the detail message of this thread. */
void ft_error_clear(void);

#endif
