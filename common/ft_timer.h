/* ft_timer: monotonic wall-clock seconds for timings and deadlines. */
#ifndef FT_TIMER_H
#define FT_TIMER_H

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
double ft_now(void);

#endif
