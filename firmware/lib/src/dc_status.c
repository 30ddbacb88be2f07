/* dc_status.c: names of the status codes, for logs and the Python bindings. */
#include "dc_status.h"

const char *dc_status_name(int status)
{
    switch (status) {
#define DC_NAME(code) case code: return #code
        DC_NAME(DC_OK);
        DC_NAME(DC_ERR_ARG);
        DC_NAME(DC_ERR_BUFFER);
        DC_NAME(DC_ERR_UNSUPPORTED);
        DC_NAME(DC_ERR_INTERNAL);
        DC_NAME(DC_ERR_TRUNCATED);
        DC_NAME(DC_ERR_CORRUPT);
        DC_NAME(DC_ERR_PARAMS);
        DC_NAME(DC_ERR_TRAILING);
        DC_NAME(DC_ERR_MAGIC);
        DC_NAME(DC_ERR_VERSION);
        DC_NAME(DC_ERR_LENGTH);
        DC_NAME(DC_ERR_OVERSIZE);
        DC_NAME(DC_ERR_HASH);
        DC_NAME(DC_ERR_SIGNATURE);
        DC_NAME(DC_ERR_AUTH);
        DC_NAME(DC_ERR_METADATA);
        DC_NAME(DC_ERR_FIELD);
        DC_NAME(DC_ERR_TENSOR);
        DC_NAME(DC_ERR_BASE);
        DC_NAME(DC_ERR_ARENA);
        DC_NAME(DC_ERR_OP);
        DC_NAME(DC_ERR_SHAPE);
        DC_NAME(DC_ERR_GRAPH);
        DC_NAME(DC_ERR_OPTION);
        DC_NAME(DC_ERR_FLASH);
        DC_NAME(DC_ERR_ROLLBACK);
        DC_NAME(DC_ERR_SLOT);
        DC_NAME(DC_ERR_NO_MODEL);
        DC_NAME(DC_ERR_NET);
        DC_NAME(DC_ERR_CLOSED);
        DC_NAME(DC_ERR_TIMEOUT);
        DC_NAME(DC_ERR_PROTOCOL);
        DC_NAME(DC_ERR_REFUSED);
        DC_NAME(DC_ERR_TLS);
#undef DC_NAME
    default:
        return "DC_ERR_UNKNOWN";
    }
}
