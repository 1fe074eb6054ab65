/* ft_jsonl: one JSON object's string members (ft_jsonl.h), by recursive descent with
 * a depth limit, so a hostile line cannot exhaust the stack. */
#include "ft_jsonl.h"

#include <stdio.h>
#include <string.h>

#include "ft_error.h"

/* Deepest nesting a skipped value may have. */
#define MAX_DEPTH 64

typedef struct {
    const char *path; /* for messages */
    uint32_t line;    /* for messages */
    const char *s;    /* the line */
    size_t len;       /* its length */
    size_t at;        /* next byte */
} parser_t;

static int bad(const parser_t *p, const char *what)
{
    return ft_error_set(FT_EFORMAT, "%s:%u: column %zu: %s", p->path, p->line, p->at + 1, what);
}

static void space(parser_t *p)
{
    while (p->at < p->len && (p->s[p->at] == ' ' || p->s[p->at] == '\t' || p->s[p->at] == '\r' ||
                              p->s[p->at] == '\n'))
        p->at++;
}

static int hex4(parser_t *p, unsigned *v)
{
    if (p->at + 4 > p->len)
        return bad(p, "\\u needs four hex digits");
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->at++];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d == 16) {
            p->at--;
            return bad(p, "\\u needs four hex digits");
        }
        *v = *v * 16 + d;
    }
    return FT_OK;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string at p->at (the opening quote); decoded into out (NULL: only checked). */
static int string(parser_t *p, char *out, size_t *out_len)
{
    size_t o = 0;
    p->at++; /* the quote */
    for (;;) {
        if (p->at >= p->len)
            return bad(p, "unterminated string");
        unsigned char c = (unsigned char)p->s[p->at];
        if (c == '"')
            break;
        if (c < 0x20)
            return bad(p, "a control character inside a string (escape it)");
        if (c != '\\') {
            if (out)
                out[o] = (char)c;
            o++, p->at++;
            continue;
        }
        if (++p->at >= p->len)
            return bad(p, "unterminated string");
        char e = p->s[p->at++], one = 0;
        switch (e) {
        case '"': one = '"'; break;
        case '\\': one = '\\'; break;
        case '/': one = '/'; break;
        case 'b': one = '\b'; break;
        case 'f': one = '\f'; break;
        case 'n': one = '\n'; break;
        case 'r': one = '\r'; break;
        case 't': one = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            int rc = hex4(p, &cp);
            if (rc)
                return rc;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return bad(p, "a lone low surrogate in a \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (p->at + 2 > p->len || p->s[p->at] != '\\' || p->s[p->at + 1] != 'u')
                    return bad(p, "a high surrogate not followed by a low one");
                p->at += 2;
                if ((rc = hex4(p, &lo)))
                    return rc;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return bad(p, "a high surrogate not followed by a low one");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            char tmp[4];
            size_t k = put_utf8(tmp, cp);
            if (out)
                memcpy(out + o, tmp, k);
            o += k;
            continue;
        }
        default: p->at--; return bad(p, "an unknown escape in a string");
        }
        if (out)
            out[o] = one;
        o++;
    }
    p->at++; /* the closing quote */
    if (out)
        out[o] = '\0';
    if (out_len)
        *out_len = o;
    return FT_OK;
}

static int literal(parser_t *p, const char *word)
{
    size_t n = strlen(word);
    if (p->at + n > p->len || memcmp(p->s + p->at, word, n))
        return bad(p, "expected a JSON value");
    p->at += n;
    return FT_OK;
}

static int number(parser_t *p)
{
    if (p->at < p->len && p->s[p->at] == '-')
        p->at++;
    size_t digits = 0;
    while (p->at < p->len && p->s[p->at] >= '0' && p->s[p->at] <= '9')
        p->at++, digits++;
    if (!digits)
        return bad(p, "expected a JSON value");
    if (p->at < p->len && p->s[p->at] == '.') {
        p->at++;
        for (digits = 0; p->at < p->len && p->s[p->at] >= '0' && p->s[p->at] <= '9'; digits++)
            p->at++;
        if (!digits)
            return bad(p, "a number needs digits after its '.'");
    }
    if (p->at < p->len && (p->s[p->at] == 'e' || p->s[p->at] == 'E')) {
        p->at++;
        if (p->at < p->len && (p->s[p->at] == '+' || p->s[p->at] == '-'))
            p->at++;
        for (digits = 0; p->at < p->len && p->s[p->at] >= '0' && p->s[p->at] <= '9'; digits++)
            p->at++;
        if (!digits)
            return bad(p, "a number needs digits in its exponent");
    }
    return FT_OK;
}

static int value(parser_t *p, int depth);

/* An object or array at p->at, skipped. */
static int container(parser_t *p, int depth)
{
    char open = p->s[p->at], close = open == '{' ? '}' : ']';
    if (depth >= MAX_DEPTH)
        return bad(p, "nested deeper than 64 levels");
    p->at++;
    space(p);
    if (p->at < p->len && p->s[p->at] == close) {
        p->at++;
        return FT_OK;
    }
    for (;;) {
        int rc;
        if (open == '{') {
            space(p);
            if (p->at >= p->len || p->s[p->at] != '"')
                return bad(p, "expected a member name in quotes");
            if ((rc = string(p, NULL, NULL)))
                return rc;
            space(p);
            if (p->at >= p->len || p->s[p->at] != ':')
                return bad(p, "expected ':' after a member name");
            p->at++;
        }
        if ((rc = value(p, depth + 1)))
            return rc;
        space(p);
        if (p->at < p->len && p->s[p->at] == ',') {
            p->at++;
            continue;
        }
        if (p->at < p->len && p->s[p->at] == close) {
            p->at++;
            return FT_OK;
        }
        return bad(p, open == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int value(parser_t *p, int depth)
{
    space(p);
    if (p->at >= p->len)
        return bad(p, "expected a JSON value");
    char c = p->s[p->at];
    if (c == '"')
        return string(p, NULL, NULL);
    if (c == '{' || c == '[')
        return container(p, depth);
    if (c == 't')
        return literal(p, "true");
    if (c == 'f')
        return literal(p, "false");
    if (c == 'n')
        return literal(p, "null");
    return number(p);
}

int ft_jsonl_fields(const char *path, uint32_t line, const char *text, size_t len,
                    ft_jsonl_field_t *fields, int n, char *buf)
{
    parser_t p = {.path = path, .line = line, .s = text, .len = len};
    for (int i = 0; i < n; i++)
        fields[i].value = NULL, fields[i].len = 0;
    space(&p);
    if (p.at >= len || text[p.at] != '{')
        return bad(&p, "expected a JSON object ({...}) on the line");
    p.at++;
    space(&p);
    if (p.at < len && text[p.at] == '}') {
        p.at++;
    } else {
        for (;;) {
            space(&p);
            if (p.at >= len || text[p.at] != '"')
                return bad(&p, "expected a member name in quotes");
            /* the name, compared as written: the requested names need no escapes */
            char name[64];
            size_t start = p.at;
            int rc = string(&p, NULL, NULL);
            if (rc)
                return rc;
            int want = -1;
            if (p.at - start - 2 < sizeof name) {
                memcpy(name, text + start + 1, p.at - start - 2);
                name[p.at - start - 2] = '\0';
                for (int i = 0; i < n; i++)
                    if (!strcmp(name, fields[i].name))
                        want = i;
            }
            space(&p);
            if (p.at >= len || text[p.at] != ':')
                return bad(&p, "expected ':' after a member name");
            p.at++;
            space(&p);
            if (want >= 0 && p.at < len && text[p.at] == '"') {
                char *out = buf + (size_t)want * (len + 1);
                if ((rc = string(&p, out, &fields[want].len)))
                    return rc;
                fields[want].value = out;
            } else if (want >= 0 && p.at < len && text[p.at] != 'n') {
                char what[96];
                snprintf(what, sizeof what, "\"%s\" must be a string", fields[want].name);
                return bad(&p, what);
            } else if ((rc = value(&p, 1))) {
                return rc;
            } else if (want >= 0) {
                fields[want].value = NULL; /* null */
            }
            space(&p);
            if (p.at < len && text[p.at] == ',') {
                p.at++;
                continue;
            }
            if (p.at < len && text[p.at] == '}') {
                p.at++;
                break;
            }
            return bad(&p, "expected ',' or '}'");
        }
    }
    space(&p);
    if (p.at != len)
        return bad(&p, "text after the object (one object a line)");
    return FT_OK;
}
