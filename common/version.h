/* SPDX-License-Identifier: Apache-2.0 */
/* version: the programs' version, fixed at build time (build/gen/version.c):
 * the VERSION file, followed by "+g<commit>" (and "-dirty") when built from a
 * git checkout, so a binary says exactly what it was built from. */
#ifndef COMMON_VERSION_H
#define COMMON_VERSION_H

extern const char activity_version[];

#endif
