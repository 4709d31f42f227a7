/* Mechanism table: what C_GetMechanismList/C_GetMechanismInfo report. */
#include "hsm.h"

/* Key sizes: SM2 in bits (like CKM_EC_*), SM4 in bytes (like CKM_AES_*). */
static const mech_t mechs[] = {
    {CKM_SM2_KEY_PAIR_GEN, {256, 256, CKF_HW | CKF_GENERATE_KEY_PAIR}},
    {CKM_SM2_SM3, {256, 256, CKF_HW | CKF_SIGN | CKF_VERIFY}},
    {CKM_SM2_RAW, {256, 256, CKF_HW | CKF_SIGN | CKF_VERIFY}},
    {CKM_SM2_ENC, {256, 256, CKF_HW | CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP}},
    {CKM_SM3, {0, 0, CKF_HW | CKF_DIGEST}},
    {CKM_SM4_KEY_GEN, {16, 16, CKF_HW | CKF_GENERATE}},
    {CKM_SM4_ECB, {16, 16, CKF_HW | CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP}},
    {CKM_SM4_CBC, {16, 16, CKF_HW | CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP}},
};

#define NMECHS (sizeof mechs / sizeof mechs[0])

const mech_t *mech_find(CK_MECHANISM_TYPE t) {
  for (size_t i = 0; i < NMECHS; i++)
    if (mechs[i].type == t) return &mechs[i];
  return NULL;
}

CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList, CK_ULONG_PTR pulCount) {
  if (!g_ready) return CKR_CRYPTOKI_NOT_INITIALIZED;
  if (!slot_get(slotID)) return CKR_SLOT_ID_INVALID;
  if (!pulCount) return CKR_ARGUMENTS_BAD;
  if (!pMechanismList) {
    *pulCount = NMECHS;
    return CKR_OK;
  }
  if (*pulCount < NMECHS) {
    *pulCount = NMECHS;
    return CKR_BUFFER_TOO_SMALL;
  }
  for (size_t i = 0; i < NMECHS; i++) pMechanismList[i] = mechs[i].type;
  *pulCount = NMECHS;
  return CKR_OK;
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo) {
  if (!g_ready) return CKR_CRYPTOKI_NOT_INITIALIZED;
  if (!slot_get(slotID)) return CKR_SLOT_ID_INVALID;
  if (!pInfo) return CKR_ARGUMENTS_BAD;
  const mech_t *m = mech_find(type);
  if (!m) return CKR_MECHANISM_INVALID;
  *pInfo = m->info;
  return CKR_OK;
}
