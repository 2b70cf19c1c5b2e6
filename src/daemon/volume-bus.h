/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "daemon/manager.h"

extern const sd_bus_vtable volume_manager_vtable[];
extern const sd_bus_vtable volume_vtable[];

/* Manager.ListVolumes/CreateVolume/EnrollVolume and the Volume objects (fallback vtable + enumerator). */
int manager_add_volume_objects(Manager *m);
