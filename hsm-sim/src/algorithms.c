/* Algorithm objects fetched once per C_Initialize. Explicitly fetched
 * EVP_MD/EVP_CIPHER skip the per-call implicit fetch (and its locks). */
#include "hsm.h"

static EVP_MD *md_sm3;
static EVP_CIPHER *c_ecb, *c_cbc;

CK_RV crypto_init(void) {
  if (!md_sm3) md_sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
  if (!c_ecb) c_ecb = EVP_CIPHER_fetch(NULL, "SM4-ECB", NULL);
  if (!c_cbc) c_cbc = EVP_CIPHER_fetch(NULL, "SM4-CBC", NULL);
  return (md_sm3 && c_ecb && c_cbc) ? CKR_OK : CKR_GENERAL_ERROR;
}

void crypto_fini(void) {
  EVP_MD_free(md_sm3);
  EVP_CIPHER_free(c_ecb);
  EVP_CIPHER_free(c_cbc);
  md_sm3 = NULL;
  c_ecb = c_cbc = NULL;
}

const EVP_MD *sm3_md(void) { return md_sm3; }

const EVP_CIPHER *sm4_cipher(CK_MECHANISM_TYPE mech) {
  return mech == CKM_SM4_ECB ? c_ecb : mech == CKM_SM4_CBC ? c_cbc : NULL;
}
