/* ft_heatstrip: per-client decisions per round in report.html — a strip of rounds ×
 * sampled clients from the "decision" events of events.jsonl, each cell coloured by
 * what the defense did with that client's update (kept, dropped, clipped,
 * reweighted; blank: not sampled), attacker rows marked. Bounded: at most
 * FT_HEATSTRIP_ROWS clients (attackers first, then by id) and FT_HEATSTRIP_COLS
 * rounds (the first ones) are drawn, whatever the run's size. */
#ifndef FT_HEATSTRIP_H
#define FT_HEATSTRIP_H

#include "ft_report_run.h"

#include <stdio.h>

#define FT_HEATSTRIP_ROWS 48  /* clients drawn at most */
#define FT_HEATSTRIP_COLS 150 /* rounds drawn at most */

/* The style sheet rules the strips use. */
const char *ft_heatstrip_css(void);

/* Writes a "Per-client decisions" section with one strip per run that has decision
 * events; nothing for runs without events.jsonl. Never fails: an unreadable file
 * is a note in the page. */
void ft_heatstrip_write(FILE *html, const ft_report_run_t *runs, int n);

#endif
