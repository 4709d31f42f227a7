/* C_WrapKey / C_UnwrapKey (a key marked CKA_WRAP_WITH_TRUSTED leaves only under a CKA_TRUSTED key):
 *   SM4-ECB/CBC under an SM4 key: the raw key value (SM2 scalar or SM4 key), no padding;
 *   SM2 encryption under an SM2 public key: GM/T 0009 ciphertext of the key value. */
#include <stdlib.h>
#include <string.h>

#include "hsm.h"

static CK_RV wrap_mech(const CK_MECHANISM *m, unsigned char iv[SM4_BLOCK]) {
  if (!m) return CKR_ARGUMENTS_BAD;
  if (m->mechanism == CKM_SM2_ENC) return m->ulParameterLen ? CKR_MECHANISM_PARAM_INVALID : CKR_OK;
  if (m->mechanism == CKM_SM4_ECB || m->mechanism == CKM_SM4_CBC) return sm4_mech_iv(m, iv);
  return CKR_MECHANISM_INVALID;
}

/* Resolves the (un)wrapping key: SM4 value copied out, or SM2 key referenced. */
static CK_RV wrapping_key(session_t *s, CK_MECHANISM_TYPE mt, CK_OBJECT_HANDLE h, int wrapping,
                          unsigned char sm4[SM4_KEY_LEN], EVP_PKEY **pk, int *trusted) {
  object_t *o;
  CK_RV bad = wrapping ? CKR_WRAPPING_KEY_HANDLE_INVALID : CKR_UNWRAPPING_KEY_HANDLE_INVALID;
  CK_RV incons = wrapping ? CKR_WRAPPING_KEY_TYPE_INCONSISTENT : CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT;
  CK_RV rv = obj_lookup(s, h, bad, &o);
  if (rv != CKR_OK) return rv;
  if (mt == CKM_SM2_ENC)
    rv = key_check(o, wrapping ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY, CKK_SM2, wrapping ? CKA_WRAP : CKA_UNWRAP);
  else
    rv = key_check(o, CKO_SECRET_KEY, CKK_SM4, wrapping ? CKA_WRAP : CKA_UNWRAP);
  if (rv == CKR_KEY_TYPE_INCONSISTENT) return incons;
  if (rv != CKR_OK) return rv;
  if (trusted) *trusted = attrs_bool(&o->attrs, CKA_TRUSTED, 0);
  if (mt != CKM_SM2_ENC) return key_sm4_value(o, sm4) == CKR_OK ? CKR_OK : incons;
  *pk = obj_pkey(o);
  if (!*pk) return incons;
  EVP_PKEY_up_ref(*pk);
  return CKR_OK;
}

CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hWrappingKey,
                CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  unsigned char iv[SM4_BLOCK], wk[SM4_KEY_LEN], val[SM2_SCALAR_LEN];
  size_t vlen = 0;
  EVP_PKEY *pk = NULL;
  object_t *o;
  int trusted = 0;
  rv = pulWrappedKeyLen ? wrap_mech(pMechanism, iv) : CKR_ARGUMENTS_BAD;
  if (rv == CKR_OK) {
    LOCK();
    rv = wrapping_key(s, pMechanism->mechanism, hWrappingKey, 1, wk, &pk, &trusted);
    if (rv == CKR_OK) rv = obj_lookup(s, hKey, CKR_KEY_HANDLE_INVALID, &o);
    if (rv == CKR_OK && o->cls != CKO_PRIVATE_KEY && o->cls != CKO_SECRET_KEY) rv = CKR_KEY_NOT_WRAPPABLE;
    if (rv == CKR_OK && !attrs_bool(&o->attrs, CKA_EXTRACTABLE, 0)) rv = CKR_KEY_UNEXTRACTABLE;
    if (rv == CKR_OK && attrs_bool(&o->attrs, CKA_WRAP_WITH_TRUSTED, 0) && !trusted) rv = CKR_KEY_NOT_WRAPPABLE;
    if (rv == CKR_OK && o->sealed) rv = CKR_USER_NOT_LOGGED_IN;
    if (rv == CKR_OK) {
      attr_t *v = attrs_find(&o->attrs, CKA_VALUE);
      int ok = v && ((o->ktype == CKK_SM2 && v->len == SM2_SCALAR_LEN) || (o->ktype == CKK_SM4 && v->len == SM4_KEY_LEN));
      if (!ok) rv = CKR_KEY_NOT_WRAPPABLE;
      else {
        memcpy(val, v->val, v->len);
        vlen = v->len;
      }
    }
    UNLOCK();
  }
  if (rv == CKR_OK && pMechanism->mechanism != CKM_SM2_ENC) {
    rv = out_len_check(pWrappedKey, pulWrappedKeyLen, vlen);
    if (rv == CKR_OK && pWrappedKey) {
      rv = sm4_oneshot(1, pMechanism->mechanism, wk, iv, val, vlen, pWrappedKey);
      if (rv == CKR_OK) *pulWrappedKeyLen = vlen;
    }
  } else if (rv == CKR_OK) {
    size_t need = 0;
    rv = sm2_encrypt(pk, val, vlen, NULL, &need);
    if (rv == CKR_OK && pWrappedKey) {
      unsigned char *tmp = malloc(need);
      if (!tmp) rv = CKR_HOST_MEMORY;
      if (rv == CKR_OK) rv = sm2_encrypt(pk, val, vlen, tmp, &need);
      if (rv == CKR_OK) rv = out_len_check(pWrappedKey, pulWrappedKeyLen, need);
      if (rv == CKR_OK) memcpy(pWrappedKey, tmp, need);
      free(tmp);
    }
    if (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL) *pulWrappedKeyLen = need;
  }
  wipe(val, sizeof val);
  wipe(wk, sizeof wk);
  EVP_PKEY_free(pk);
  sess_release(s);
  return rv;
}

CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hUnwrappingKey,
                  CK_BYTE_PTR pWrappedKey, CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
                  CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  unsigned char iv[SM4_BLOCK], wk[SM4_KEY_LEN];
  unsigned char *plain = NULL;
  size_t plen = 0;
  EVP_PKEY *pk = NULL;
  attrs_t mod = {0};
  CK_ULONG cls = 0, kt = 0;
  if (!pWrappedKey || !phKey || (ulAttributeCount && !pTemplate)) rv = CKR_ARGUMENTS_BAD;
  if (rv == CKR_OK) rv = wrap_mech(pMechanism, iv);
  if (rv == CKR_OK) rv = tmpl_check_shapes(pTemplate, ulAttributeCount);
  if (rv == CKR_OK && (!tmpl_ulong(pTemplate, ulAttributeCount, CKA_CLASS, &cls) ||
                       !tmpl_ulong(pTemplate, ulAttributeCount, CKA_KEY_TYPE, &kt)))
    rv = CKR_TEMPLATE_INCOMPLETE;
  if (rv == CKR_OK && !((cls == CKO_PRIVATE_KEY && kt == CKK_SM2) || (cls == CKO_SECRET_KEY && kt == CKK_SM4)))
    rv = CKR_TEMPLATE_INCONSISTENT;
  if (rv == CKR_OK) {
    LOCK();
    rv = wrapping_key(s, pMechanism->mechanism, hUnwrappingKey, 0, wk, &pk, NULL);
    UNLOCK();
  }
  if (rv == CKR_OK) {
    if (pMechanism->mechanism == CKM_SM2_ENC) {
      rv = sm2_decrypt(pk, pWrappedKey, ulWrappedKeyLen, NULL, &plen);
      if (rv == CKR_OK && !(plain = malloc(plen ? plen : 1))) rv = CKR_HOST_MEMORY;
      if (rv == CKR_OK) rv = sm2_decrypt(pk, pWrappedKey, ulWrappedKeyLen, plain, &plen);
      if (rv == CKR_ENCRYPTED_DATA_INVALID) rv = CKR_WRAPPED_KEY_INVALID;
    } else if (ulWrappedKeyLen % SM4_BLOCK || ulWrappedKeyLen == 0 || ulWrappedKeyLen > 4096) {
      rv = CKR_WRAPPED_KEY_LEN_RANGE;
    } else {
      plen = ulWrappedKeyLen;
      if (!(plain = malloc(plen))) rv = CKR_HOST_MEMORY;
      if (rv == CKR_OK) rv = sm4_oneshot(0, pMechanism->mechanism, wk, iv, pWrappedKey, plen, plain);
    }
  }
  if (rv == CKR_OK && plen != (kt == CKK_SM2 ? SM2_SCALAR_LEN : SM4_KEY_LEN))
    rv = pMechanism->mechanism == CKM_SM2_ENC ? CKR_WRAPPED_KEY_INVALID : CKR_WRAPPED_KEY_LEN_RANGE;
  if (rv == CKR_OK) rv = attrs_set(&mod, CKA_VALUE, plain, plen);
  if (rv == CKR_OK && kt == CKK_SM2) {
    unsigned char pub[SM2_POINT_LEN], der[SM2_POINT_LEN + 2];
    rv = sm2_point_from_scalar(plain, pub);
    if (rv == CKR_ATTRIBUTE_VALUE_INVALID) rv = CKR_WRAPPED_KEY_INVALID;
    if (rv == CKR_OK) {
      ec_point_encode(pub, der);
      rv = attrs_set(&mod, CKA_EC_POINT, der, sizeof der);
    }
    if (rv == CKR_OK) rv = attrs_set(&mod, CKA_EC_PARAMS, SM2_EC_PARAMS, sizeof SM2_EC_PARAMS);
  }
  if (rv == CKR_OK && kt == CKK_SM4) rv = attrs_set_ulong(&mod, CKA_VALUE_LEN, SM4_KEY_LEN);
  if (rv == CKR_OK) {
    object_t *o = NULL;
    LOCK();
    rv = obj_build(s, pTemplate, ulAttributeCount, ORIGIN_UNWRAP, &mod, &o);
    if (rv == CKR_OK) rv = obj_commit(s, o);
    if (rv == CKR_OK) *phKey = o->handle;
    UNLOCK();
  }
  if (plain) {
    wipe(plain, plen);
    free(plain);
  }
  wipe(wk, sizeof wk);
  attrs_free(&mod);
  EVP_PKEY_free(pk);
  sess_release(s);
  return rv;
}
