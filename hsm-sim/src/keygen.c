/* C_GenerateKey (SM4) and C_GenerateKeyPair (SM2). */
#include <string.h>

#include "hsm.h"

CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_ATTRIBUTE_PTR pTemplate,
                    CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  unsigned char key[SM4_KEY_LEN];
  attrs_t mod = {0};
  object_t *o = NULL;
  if (!pMechanism || !phKey || (ulCount && !pTemplate)) rv = CKR_ARGUMENTS_BAD;
  else if (pMechanism->mechanism != CKM_SM4_KEY_GEN) rv = CKR_MECHANISM_INVALID;
  else if (pMechanism->ulParameterLen) rv = CKR_MECHANISM_PARAM_INVALID;
  if (rv == CKR_OK) rv = random_bytes(key, sizeof key);
  if (rv == CKR_OK) rv = attrs_set_ulong(&mod, CKA_CLASS, CKO_SECRET_KEY);
  if (rv == CKR_OK) rv = attrs_set_ulong(&mod, CKA_KEY_TYPE, CKK_SM4);
  if (rv == CKR_OK) rv = attrs_set(&mod, CKA_VALUE, key, sizeof key);
  if (rv == CKR_OK) rv = attrs_set_ulong(&mod, CKA_VALUE_LEN, SM4_KEY_LEN);
  if (rv == CKR_OK) rv = attrs_set_ulong(&mod, CKA_KEY_GEN_MECHANISM, CKM_SM4_KEY_GEN);
  if (rv == CKR_OK) {
    LOCK();
    rv = obj_build(s, pTemplate, ulCount, ORIGIN_GENERATE, &mod, &o);
    if (rv == CKR_OK) rv = obj_commit(s, o);
    if (rv == CKR_OK) *phKey = o->handle;
    UNLOCK();
  }
  wipe(key, sizeof key);
  attrs_free(&mod);
  sess_release(s);
  return rv;
}

static void destroy(session_t *s, object_t *o) {
  if (o->token) store_delete_object(sess_slot(s), o);
  obj_unregister(o);
  obj_free(o);
}

CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_ATTRIBUTE_PTR pPublicKeyTemplate,
                        CK_ULONG ulPublicKeyAttributeCount, CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
                        CK_ULONG ulPrivateKeyAttributeCount, CK_OBJECT_HANDLE_PTR phPublicKey,
                        CK_OBJECT_HANDLE_PTR phPrivateKey) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  unsigned char priv[SM2_SCALAR_LEN], pub[SM2_POINT_LEN], der[SM2_POINT_LEN + 2];
  attrs_t pm = {0}, km = {0};
  object_t *po = NULL, *ko = NULL;
  if (!pMechanism || !phPublicKey || !phPrivateKey || (ulPublicKeyAttributeCount && !pPublicKeyTemplate) ||
      (ulPrivateKeyAttributeCount && !pPrivateKeyTemplate))
    rv = CKR_ARGUMENTS_BAD;
  else if (pMechanism->mechanism != CKM_SM2_KEY_PAIR_GEN) rv = CKR_MECHANISM_INVALID;
  else if (pMechanism->ulParameterLen) rv = CKR_MECHANISM_PARAM_INVALID;
  if (rv == CKR_OK) rv = sm2_generate(priv, pub);
  if (rv == CKR_OK) {
    ec_point_encode(pub, der);
    rv = attrs_set_ulong(&pm, CKA_CLASS, CKO_PUBLIC_KEY);
  }
  if (rv == CKR_OK) rv = attrs_set_ulong(&pm, CKA_KEY_TYPE, CKK_SM2);
  if (rv == CKR_OK) rv = attrs_set(&pm, CKA_EC_POINT, der, sizeof der);
  if (rv == CKR_OK) rv = attrs_set(&pm, CKA_EC_PARAMS, SM2_EC_PARAMS, sizeof SM2_EC_PARAMS);
  if (rv == CKR_OK) rv = attrs_set_ulong(&pm, CKA_KEY_GEN_MECHANISM, CKM_SM2_KEY_PAIR_GEN);
  if (rv == CKR_OK) rv = attrs_set_ulong(&km, CKA_CLASS, CKO_PRIVATE_KEY);
  if (rv == CKR_OK) rv = attrs_set_ulong(&km, CKA_KEY_TYPE, CKK_SM2);
  if (rv == CKR_OK) rv = attrs_set(&km, CKA_VALUE, priv, sizeof priv);
  if (rv == CKR_OK) rv = attrs_set(&km, CKA_EC_POINT, der, sizeof der);
  if (rv == CKR_OK) rv = attrs_set(&km, CKA_EC_PARAMS, SM2_EC_PARAMS, sizeof SM2_EC_PARAMS);
  if (rv == CKR_OK) rv = attrs_set_ulong(&km, CKA_KEY_GEN_MECHANISM, CKM_SM2_KEY_PAIR_GEN);
  if (rv == CKR_OK) {
    LOCK();
    rv = obj_build(s, pPublicKeyTemplate, ulPublicKeyAttributeCount, ORIGIN_GENERATE, &pm, &po);
    if (rv == CKR_OK) {
      rv = obj_build(s, pPrivateKeyTemplate, ulPrivateKeyAttributeCount, ORIGIN_GENERATE, &km, &ko);
      if (rv != CKR_OK) obj_free(po);
    }
    if (rv == CKR_OK) {
      rv = obj_commit(s, po);
      if (rv != CKR_OK) obj_free(ko);
    }
    if (rv == CKR_OK) {
      rv = obj_commit(s, ko);
      if (rv != CKR_OK) destroy(s, po);
    }
    if (rv == CKR_OK) {
      *phPublicKey = po->handle;
      *phPrivateKey = ko->handle;
    }
    UNLOCK();
  }
  wipe(priv, sizeof priv);
  attrs_free(&pm);
  attrs_free(&km);
  sess_release(s);
  return rv;
}
