/* dc_version.h: the firmware's version, reported by the console's `version` command. */
#ifndef DC_VERSION_H
#define DC_VERSION_H

#define DC_FW_NAME "dcfw"
#define DC_FW_VERSION "0.1.0"

#endif /* DC_VERSION_H */
