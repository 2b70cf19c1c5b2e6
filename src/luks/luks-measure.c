/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "luks/luks-measure.h"
#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-pcr.h"

int luks_measure_data(const char *uuid, const void *volume_key, size_t volume_key_size,
                      uint8_t ret[static LUKS_MEASURE_DATA_SIZE]) {
        _cleanup_free_ char *message = NULL;
        uint8_t mac[EVP_MAX_MD_SIZE];
        unsigned n = 0;

        if (!string_is_safe(uuid, LUKS_MEASURE_UUID_MAX) || strchr(uuid, ' '))
                return -EINVAL;
        if (!volume_key || volume_key_size == 0 || volume_key_size > LUKS_MEASURE_VOLUME_KEY_MAX)
                return -EINVAL;
        if (!strextend(&message, LUKS_MEASURE_PREFIX, uuid))
                return -ENOMEM;

        if (!HMAC(EVP_sha256(), volume_key, (int) volume_key_size, (const unsigned char *) message,
                  strlen(message), mac, &n) ||
            n != LUKS_MEASURE_DATA_SIZE) {
                erase_mem(mac, sizeof(mac));
                return -EIO;
        }
        memcpy(ret, mac, LUKS_MEASURE_DATA_SIZE);
        erase_mem(mac, sizeof(mac));
        return 0;
}

int luks_measure_volume(Tpm2Context *c, uint32_t pcr, const char *uuid, const void *volume_key,
                        size_t volume_key_size) {
        uint8_t data[LUKS_MEASURE_DATA_SIZE];
        TPML_PCR_SELECTION alloc;
        uint16_t banks[TPM2_NUM_PCR_BANKS];
        int r, n = 0;

        assert(c);

        if (pcr >= TPM2_PCRS_MAX)
                return -EINVAL;
        r = luks_measure_data(uuid, volume_key, volume_key_size, data);
        if (r < 0)
                return r;

        r = tpm2_get_pcr_allocation(c, &alloc);
        if (r < 0)
                goto finish;

        for (uint32_t i = 0; i < alloc.count && n < TPM2_NUM_PCR_BANKS; i++) {
                const TPMS_PCR_SELECTION *s = &alloc.pcrSelections[i];

                if (pcr / 8 >= s->sizeofSelect || !(s->pcrSelect[pcr / 8] & (1U << (pcr % 8))))
                        continue;
                banks[n++] = s->hash;
        }
        if (n == 0) {
                r = -EOPNOTSUPP;
                goto finish;
        }

        /* All banks in one TPM2_PCR_Extend: one round trip (a real TPM takes milliseconds for each), and
         * the TPM moves every bank or none. */
        r = tpm2_pcr_extend_data_banks(c, pcr, banks, n, data, sizeof(data));
        if (r < 0) {
                log_debug_errno(r, "Extending PCR %" PRIu32 " of %d bank(s) failed: %m", pcr, n);
                goto finish;
        }
        r = n;

finish:
        erase_mem(data, sizeof(data));
        return r;
}
