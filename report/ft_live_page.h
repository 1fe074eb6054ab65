/* ft_live_page: the live view's page (ft_live_page.html, embedded at build time by
 * cmake/Embed.cmake): one self-contained HTML file with inline CSS, JS and SVG that
 * follows /events (coordinator/ft_live.h) — round progress and ETA, each arm's main
 * and backdoor accuracy curves with the attack rounds shaded, the current round's
 * sampled clients, the last closed round's decisions with the attackers marked, the
 * round's update norms and the verdict so far (ft_verdict_words' words). It needs
 * nothing from the network but its own server: no CDN, no framework. */
#ifndef FT_LIVE_PAGE_H
#define FT_LIVE_PAGE_H

#include <stddef.h>

extern const unsigned char ft_live_page[]; /* the page (UTF-8), NUL-terminated */
extern const size_t ft_live_page_len;      /* its bytes, without the NUL */

#endif
