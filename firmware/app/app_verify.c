/* app_verify.c: the slots' verifier: a model is trusted through the device key (HMAC tag) OR a trusted publisher's Ed25519 signature. */
#include <string.h>

#include "app.h"
#include "dc_status.h"

void dc_app_trust_publisher(dc_app_t *app, const uint8_t *key)
{
    if (key == NULL) {
        memset(app->verifier.publisher_key, 0, sizeof app->verifier.publisher_key);
        app->verifier.publisher.key_count = 0;
        return;
    }
    memcpy(app->verifier.publisher_key[0], key, DC_FLEET_KEY_SIZE);
    app->verifier.publisher.key_count = 1;
}

int dc_app_verify(void *ctx, const dc_flash_t *flash, uint32_t offset, uint32_t size,
                  dc_model_info_t *info)
{
    dc_app_verifier_t *v = (dc_app_verifier_t *)ctx;
    int device;
    if (v == NULL) {
        return DC_ERR_ARG;
    }
    /* Path 1, delivered through a gateway: container + device tag (refuses deltas). */
    device = dc_model_verify(&v->device, flash, offset, size, info);
    if (device == DC_OK || v->publisher.key_count == 0u) {
        return device;
    }
    /* Path 2, the board on the network by itself: container + trusted Ed25519 signature. Its
     * status explains a refusal (unsigned, untrusted key, forged) when neither path accepts;
     * a file that does not open gives the same container status on both paths. */
    return dc_fleet_verify(&v->publisher, flash, offset, size, info);
}
