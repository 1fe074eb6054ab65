/* ft_text_tokenize: text to tokens — lower-cased words and single-character
 * punctuation tokens, the tokenisation of the paper's Reddit task (its code splits
 * comments into words and punctuation with a word tokenizer, then lower-cases).
 *
 * A word is a maximal run of ASCII letters (lower-cased), digits, apostrophes and
 * UTF-8 multi-byte characters (kept as they are); every other visible ASCII character
 * is a token of its own. Space, tab, CR, LF and the terminal formatting characters the
 * fortunes files use (BEL, backspace for overstrike, form feed) separate tokens. Any
 * other control byte or a byte sequence that is not well-formed UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF) is FT_EFORMAT naming the file
 * and line. */
#include <string.h>

#include "ft_error.h"
#include "ft_text.h"

/* Length of the well-formed UTF-8 sequence of 2..4 bytes starting at p (p[0] >= 0x80),
 * or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* bounds of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else
        return 0;
    if (left < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

static int is_separator(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\a' || c == '\b' || c == '\f';
}

int ft_text_tokenize(const char *path, uint32_t first_line, const char *text, size_t len,
                     int (*emit)(const char *token, void *user), void *user)
{
    const unsigned char *p = (const unsigned char *)text;
    char tok[FT_TEXT_MAX_TOKEN + 1];
    size_t tl = 0;
    uint32_t line = first_line;
    int rc;
#define FLUSH()                                                                                    \
    do {                                                                                           \
        if (tl) {                                                                                  \
            tok[tl] = '\0';                                                                        \
            tl = 0;                                                                                \
            if ((rc = emit(tok, user)) != 0)                                                       \
                return rc;                                                                         \
        }                                                                                          \
    } while (0)
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t n = utf8_len(p + i, len - i);
            if (!n)
                return ft_error_set(FT_EFORMAT,
                                    "%s:%u: byte 0x%02x is not valid UTF-8 (text files must be "
                                    "UTF-8)",
                                    path, line, c);
            if (tl + n > FT_TEXT_MAX_TOKEN)
                FLUSH();
            memcpy(tok + tl, p + i, n);
            tl += n, i += n;
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'') {
            if (tl == FT_TEXT_MAX_TOKEN)
                FLUSH();
            tok[tl++] = (char)c;
        } else if (is_separator(c)) {
            FLUSH();
            if (c == '\n')
                line++;
        } else if (c < 0x20 || c == 0x7F) {
            return ft_error_set(FT_EFORMAT, "%s:%u: control byte 0x%02x in text", path, line, c);
        } else {
            FLUSH();
            tok[0] = (char)c;
            tl = 1;
            FLUSH();
        }
        i++;
    }
    FLUSH();
#undef FLUSH
    return FT_OK;
}
