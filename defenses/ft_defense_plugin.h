/* ft_defense_plugin: a defense loaded from a shared object (defense.plugin).
 *
 * The plug-in is written against the installed, self-contained ABI of
 * include/fedtail/defense.h; this module dlopens it, checks the symbol and the ABI
 * version, and wraps it into an ft_defense_t that the coordinator, `fedtail
 * aggregate` and the self-test use like a built-in rule (docs/write-a-defense.md).
 * A process keeps at most FT_DEFENSE_PLUGIN_SLOTS distinct plug-ins loaded; they stay
 * loaded until exit (a vtable handed out must stay valid). */
#ifndef FT_DEFENSE_PLUGIN_H
#define FT_DEFENSE_PLUGIN_H

#include <stdint.h>

#include "ft_defense.h"

#define FT_DEFENSE_PLUGIN_SLOTS 4 /* distinct plug-ins one process may load */

/* Loads the plug-in at path (once per path) and sets *out to its adapted vtable.
 * FT_ENOTFOUND naming the file when it cannot be loaded or lacks the symbol,
 * FT_EUNSUPPORTED when its ABI version differs, FT_EINVAL when its vtable is
 * incomplete or too many plug-ins are loaded. */
int ft_defense_plugin_open(const char *path, const ft_defense_t **out);

/* Whether d is a loaded plug-in's vtable; its FEDTAIL_DEFENSE_* flags if so (else 0). */
int ft_defense_is_plugin(const ft_defense_t *d);
uint32_t ft_defense_plugin_flags(const ft_defense_t *d);

#endif
