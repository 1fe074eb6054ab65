/* ft_sweep_launch: fedtail sweep GRID.ini --launcher slurm — the grid as one job array
 * (`--array=LIST%M`, LIST the cells not yet complete, M --max-parallel), each array
 * task running one cell (`fedtail sweep GRID --cell I`: its own coordinator and
 * client processes inside the task's allocation), and a job depending on the array
 * (afterany) that builds summary.*, the heatmaps and sweep.html. The scripts, the
 * cell list and the job ids are kept in DIR/launch/. `fedtail sweep --status DIR`
 * shows each cell as done, running, failed or pending (docs/cluster.md). */
#ifndef FT_SWEEP_LAUNCH_H
#define FT_SWEEP_LAUNCH_H

#include "ft_launcher.h"

/* Submits the cells todo (n of them, grid run indices; names: every cell's name, total
 * of them) of grid (path as given, from the working directory) into out_dir. procs
 * and seeds_opt (may be NULL) as fedtail sweep's. Without l->no_wait waits for the
 * report job and prints the status. Returns the exit status (0, 1 with a message). */
int ft_sweep_launch(const ft_launch_t *l, const char *grid, const char *out_dir, char (*names)[512],
                    int total, const int *todo, int n, const char *procs, const char *seeds_opt);

/* Prints each cell of the sweep in dir with its state and the counts; 0, or 1 when dir
 * holds no launched sweep (message printed). */
int ft_sweep_status(const char *dir);

#endif
