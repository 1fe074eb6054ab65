/* fedtail client: placeholder until its issue lands (see issues). */
#include "ft_cli.h"

#include <stdio.h>

int ft_cmd_client(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "fedtail client: not built yet\n");
    return 2;
}
