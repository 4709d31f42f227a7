/* SM4-ECB/CBC without padding, as the Sansec mechanisms define them. */
#include <string.h>

#include "hsm.h"

CK_RV sm4_mech_iv(const CK_MECHANISM *m, unsigned char iv[SM4_BLOCK]) {
  if (m->mechanism == CKM_SM4_ECB) {
    if (m->ulParameterLen != 0) return CKR_MECHANISM_PARAM_INVALID;
    memset(iv, 0, SM4_BLOCK);
    return CKR_OK;
  }
  if (m->mechanism == CKM_SM4_CBC) {
    if (!m->pParameter || m->ulParameterLen != SM4_BLOCK) return CKR_MECHANISM_PARAM_INVALID;
    memcpy(iv, m->pParameter, SM4_BLOCK);
    return CKR_OK;
  }
  return CKR_MECHANISM_INVALID;
}

CK_RV sm4_ctx(int enc, CK_MECHANISM_TYPE mech, const unsigned char key[SM4_KEY_LEN],
              const unsigned char iv[SM4_BLOCK], EVP_CIPHER_CTX **out) {
  const EVP_CIPHER *c = sm4_cipher(mech);
  if (!c) return CKR_MECHANISM_INVALID;
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  if (!x) return CKR_HOST_MEMORY;
  if (EVP_CipherInit_ex(x, c, NULL, key, mech == CKM_SM4_CBC ? iv : NULL, enc) != 1 ||
      EVP_CIPHER_CTX_set_padding(x, 0) != 1) {
    EVP_CIPHER_CTX_free(x);
    return CKR_FUNCTION_FAILED;
  }
  *out = x;
  return CKR_OK;
}

CK_RV sm4_oneshot(int enc, CK_MECHANISM_TYPE mech, const unsigned char key[SM4_KEY_LEN],
                  const unsigned char iv[SM4_BLOCK], const unsigned char *in, size_t len, unsigned char *out) {
  if (len % SM4_BLOCK) return enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
  if (len > 0x7fffff00) return CKR_DATA_LEN_RANGE;
  EVP_CIPHER_CTX *x;
  CK_RV rv = sm4_ctx(enc, mech, key, iv, &x);
  if (rv != CKR_OK) return rv;
  int l1 = 0, l2 = 0;
  if ((len && EVP_CipherUpdate(x, out, &l1, in, (int)len) != 1) || EVP_CipherFinal_ex(x, out + l1, &l2) != 1)
    rv = CKR_FUNCTION_FAILED;
  EVP_CIPHER_CTX_free(x);
  return rv;
}
