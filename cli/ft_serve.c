/* ft_serve: the live view for one fedtail command (ft_serve.h). */
#include "ft_serve.h"

#include "ft_error.h"
#include "ft_fileio.h"
#include "ft_live_page.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* url with its "//0.0.0.0:" replaced by "//host:" (host NULL: url as it is). */
static void public_url(const char *url, const char *host, char *buf, size_t len)
{
    const char *any = strstr(url, "//0.0.0.0:");
    if (!host || !any)
        snprintf(buf, len, "%s", url);
    else
        snprintf(buf, len, "%.*s//%s%s", (int)(any - url), url, host, any + 9);
}

int ft_serve_start(ft_serve_t *s, const char *spec, const char *out, const char *const *labels,
                   int n, int rounds, const char *who)
{
    return ft_serve_start_on_host(s, spec, out, labels, n, rounds, who, NULL);
}

const char *ft_serve_url(const ft_serve_t *s)
{
    return s->url;
}

int ft_serve_start_on_host(ft_serve_t *s, const char *spec, const char *out,
                           const char *const *labels, int n, int rounds, const char *who,
                           const char *host)
{
    memset(s, 0, sizeof *s);
    int rc = ft_live_new(&s->live);
    for (int i = 0; i < n && i < FT_LIVE_MAX_ARMS && rc == FT_OK; i++)
        if ((rc = ft_live_add_arm(s->live, labels[i], rounds) < 0 ? FT_EINVAL : FT_OK) == FT_OK)
            s->arms++;
    if (rc == FT_OK)
        rc = ft_live_http_start(s->live, spec, (const char *)ft_live_page, ft_live_page_len,
                                &s->http);
    if (rc == FT_OK)
        rc = ft_mkdir_p(out);
    if (rc == FT_OK) {
        char line[600];
        public_url(ft_live_http_url(s->http), host, s->url, sizeof s->url);
        int len = snprintf(line, sizeof line, "%s\n", s->url);
        snprintf(s->url_file, sizeof s->url_file, "%s/live.url", out);
        rc = ft_write_file_atomic(s->url_file, line, (size_t)len);
        if (rc != FT_OK)
            s->url_file[0] = 0;
    }
    if (rc != FT_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", ft_error_message());
        ft_serve_stop(s);
        return ft_error_set(rc, "%s", why);
    }
    fprintf(stderr, "%s: live view on %s%s\n", who, s->url,
            ft_live_http_needs_token(s->http) ? " (the token is required: keep the URL private)"
                                              : "");
    return FT_OK;
}

ft_live_t *ft_serve_live(const ft_serve_t *s, int arm)
{
    return s->live && arm >= 0 && arm < s->arms ? s->live : NULL;
}

void ft_serve_stop(ft_serve_t *s)
{
    if (s->live)
        ft_live_finish(s->live);
    ft_live_http_stop(&s->http);
    ft_live_destroy(&s->live);
    if (s->url_file[0])
        unlink(s->url_file);
    s->url_file[0] = 0;
}
