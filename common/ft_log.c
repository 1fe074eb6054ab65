/* ft_log: default sink writes "[tag] LEVEL message" lines to stderr. */
#include "ft_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

ft_log_level_t ft_log_threshold = FT_LOG_WARN;
static ft_log_sink_fn log_sink;
static void *log_sink_user;
static char log_tag[32];

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void ft_log_set_level(ft_log_level_t level)
{
    ft_log_threshold = level;
}

void ft_log_set_sink(ft_log_sink_fn sink, void *user)
{
    log_sink = sink;
    log_sink_user = user;
}

void ft_log_set_tag(const char *tag)
{
    snprintf(log_tag, sizeof log_tag, "%s", tag ? tag : "");
}

void ft_log_write(ft_log_level_t level, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (log_sink) {
        log_sink(level, line, log_sink_user);
        return;
    }
    if (log_tag[0])
        fprintf(stderr, "[%s] %s: %s\n", log_tag, level_names[level], line);
    else
        fprintf(stderr, "%s: %s\n", level_names[level], line);
}
