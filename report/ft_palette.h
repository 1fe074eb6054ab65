/* ft_palette: the colour a defense is drawn in, the same in every plot of every
 * report (krum is green in a comparison of two rules and in a sweep of ten). A
 * fixed table holds the built-in rules; any other name (a plug-in, a renamed rule)
 * hashes into a second set of colours, so it too keeps one colour everywhere. */
#ifndef FT_PALETTE_H
#define FT_PALETTE_H

/* "#rrggbb" for a defense name (a static string; never NULL). */
const char *ft_palette_defense(const char *name);

/* The i-th colour of the table, for lines that are not defenses (a seeds report's
 * arms). */
const char *ft_palette_nth(int i);

#endif
