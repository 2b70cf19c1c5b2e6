/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A polkit authentication agent for the duration of one privileged call, as systemctl does: without
 * one, an administrator logged in over ssh would be refused instead of asked for a password. */

/* Starts pkttyagent for this process when standard input is a terminal and we are not root (root is
 * authorized without asking), and waits until it is registered. Returns 1 if an agent was started, 0
 * if not (no terminal, root, no pkttyagent), negative errno on failure. */
int polkit_agent_open(void);

/* Stops the agent started by polkit_agent_open(), if any. */
void polkit_agent_close(void);
