/* ft_log: levelled logging with a settable sink, so tests can capture output.
 * FT_LOG checks the level before any formatting work is done. Metrics are data
 * files, never log lines. */
#ifndef FT_LOG_H
#define FT_LOG_H

typedef enum {
    FT_LOG_ERROR = 0,
    FT_LOG_WARN = 1,
    FT_LOG_INFO = 2,
    FT_LOG_DEBUG = 3,
} ft_log_level_t;

/* A sink receives one formatted line (no trailing newline). */
typedef void (*ft_log_sink_fn)(ft_log_level_t level, const char *line, void *user);

extern ft_log_level_t ft_log_threshold;

void ft_log_set_level(ft_log_level_t level);
/* Sets the sink; NULL restores the default (stderr). */
void ft_log_set_sink(ft_log_sink_fn sink, void *user);
/* Sets a short tag printed in front of every line of this process ("coord", "client 3"). */
void ft_log_set_tag(const char *tag);
void ft_log_write(ft_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define FT_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= ft_log_threshold)                                                           \
            ft_log_write((level), __VA_ARGS__);                                                    \
    } while (0)

#endif
