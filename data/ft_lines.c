/* ft_lines: line by line through a text read whole (ft_lines.h). */
#include "ft_lines.h"

ft_lines_t ft_lines(const char *data, size_t len)
{
    return (ft_lines_t){.data = data, .len = len};
}

int ft_lines_next(ft_lines_t *it, const char **text, size_t *len)
{
    if (it->at >= it->len)
        return 0;
    size_t i = it->at, eol = i;
    while (eol < it->len && it->data[eol] != '\n')
        eol++;
    size_t l = eol - i;
    if (l && it->data[i + l - 1] == '\r')
        l--;
    *text = it->data + i, *len = l;
    it->at = eol + 1;
    it->line++;
    return 1;
}

size_t ft_lines_longest(const char *data, size_t len)
{
    size_t longest = 0;
    for (size_t i = 0, at = 0; i <= len; i++)
        if (i == len || data[i] == '\n') {
            longest = i - at > longest ? i - at : longest;
            at = i + 1;
        }
    return longest;
}
