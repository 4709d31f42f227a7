/* Library lifecycle, configuration, slot/token information, and the function list. */
#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsm.h"

pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
int g_ready;
slot_t *g_slots;
CK_ULONG g_nslots;

void obj_table_reset(void);

slot_t *slot_get(CK_SLOT_ID id) { return id < g_nslots ? &g_slots[id] : NULL; }

void pad_copy(unsigned char *dst, size_t dlen, const char *src) {
  size_t n = strlen(src);
  memset(dst, ' ', dlen);
  memcpy(dst, src, n < dlen ? n : dlen);
}

static void trim(char *s) {
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
}

/* HSMSIM_CONF holds dir=/slots= lines; the environment overrides it. */
static void load_config(char **dir, unsigned long *slots) {
  const char *conf = getenv("HSMSIM_CONF");
  if (conf && *conf) {
    FILE *f = fopen(conf, "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
      trim(line);
      char *p = line;
      while (isspace((unsigned char)*p)) p++;
      if (!strncmp(p, "dir=", 4) && p[4]) {
        free(*dir);
        *dir = strdup(p + 4);
      } else if (!strncmp(p, "slots=", 6)) {
        *slots = strtoul(p + 6, NULL, 10);
      }
    }
    if (f) fclose(f);
  }
  const char *d = getenv("HSMSIM_DIR");
  if (d && *d) {
    free(*dir);
    *dir = strdup(d);
  }
  const char *sl = getenv("HSMSIM_SLOTS");
  if (sl && *sl) *slots = strtoul(sl, NULL, 10);
  if (!*dir) {
    const char *home = getenv("HOME");
    if (!home || !*home) {
      struct passwd *pw = getpwuid(getuid());
      home = pw ? pw->pw_dir : "/tmp";
    }
    size_t n = strlen(home) + 16;
    *dir = malloc(n);
    if (*dir) snprintf(*dir, n, "%s/.hsm-sim", home);
  }
  if (*slots < 1 || *slots > 64) *slots = 4;
}

CK_RV C_Initialize(CK_VOID_PTR pInitArgs) {
  if (pInitArgs) {
    CK_C_INITIALIZE_ARGS *a = pInitArgs;
    int some = a->CreateMutex || a->DestroyMutex || a->LockMutex || a->UnlockMutex;
    int all = a->CreateMutex && a->DestroyMutex && a->LockMutex && a->UnlockMutex;
    if (a->pReserved || (some && !all)) return CKR_ARGUMENTS_BAD;
    /* Application-supplied mutexes without CKF_OS_LOCKING_OK: we still use
     * pthreads, which is what those callbacks wrap on every platform we run on. */
  }
  LOCK();
  if (g_ready) {
    UNLOCK();
    return CKR_CRYPTOKI_ALREADY_INITIALIZED;
  }
  char *dir = NULL;
  unsigned long n = 4;
  load_config(&dir, &n);
  CK_RV rv = dir ? crypto_init() : CKR_HOST_MEMORY;
  if (rv == CKR_OK) {
    g_slots = calloc(n, sizeof(slot_t));
    if (!g_slots) rv = CKR_HOST_MEMORY;
  }
  for (unsigned long i = 0; rv == CKR_OK && i < n; i++) {
    slot_t *s = &g_slots[i];
    size_t len = strlen(dir) + 32;
    s->id = i;
    s->login = CK_UNAVAILABLE_INFORMATION;
    s->dir = malloc(len);
    if (!s->dir) {
      rv = CKR_HOST_MEMORY;
      break;
    }
    snprintf(s->dir, len, "%s/slot-%lu", dir, i);
  }
  if (rv == CKR_OK) {
    g_nslots = n;
    g_ready = 1;
  } else if (g_slots) {
    for (unsigned long i = 0; i < n; i++) free(g_slots[i].dir);
    free(g_slots);
    g_slots = NULL;
  }
  free(dir);
  UNLOCK();
  return rv;
}

CK_RV C_Finalize(CK_VOID_PTR pReserved) {
  if (pReserved) return CKR_ARGUMENTS_BAD;
  LOCK();
  if (!g_ready) {
    UNLOCK();
    return CKR_CRYPTOKI_NOT_INITIALIZED;
  }
  sess_close_all();
  obj_table_reset();
  for (CK_ULONG i = 0; i < g_nslots; i++) {
    wipe(g_slots[i].tkey, sizeof g_slots[i].tkey);
    free(g_slots[i].dir);
  }
  free(g_slots);
  g_slots = NULL;
  g_nslots = 0;
  g_ready = 0;
  crypto_fini();
  UNLOCK();
  return CKR_OK;
}

CK_RV C_GetInfo(CK_INFO_PTR pInfo) {
  if (!g_ready) return CKR_CRYPTOKI_NOT_INITIALIZED;
  if (!pInfo) return CKR_ARGUMENTS_BAD;
  memset(pInfo, 0, sizeof *pInfo);
  pInfo->cryptokiVersion.major = 2;
  pInfo->cryptokiVersion.minor = 40;
  pad_copy(pInfo->manufacturerID, 32, "sm2ca hsm-sim");
  pad_copy(pInfo->libraryDescription, 32, "SM2/SM3/SM4 PKCS#11 simulator");
  pInfo->libraryVersion.major = 1;
  pInfo->libraryVersion.minor = 0;
  return CKR_OK;
}

CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount) {
  (void)tokenPresent; /* every slot always holds its (possibly blank) token */
  if (!g_ready) return CKR_CRYPTOKI_NOT_INITIALIZED;
  if (!pulCount) return CKR_ARGUMENTS_BAD;
  if (!pSlotList) {
    *pulCount = g_nslots;
    return CKR_OK;
  }
  if (*pulCount < g_nslots) {
    *pulCount = g_nslots;
    return CKR_BUFFER_TOO_SMALL;
  }
  for (CK_ULONG i = 0; i < g_nslots; i++) pSlotList[i] = i;
  *pulCount = g_nslots;
  return CKR_OK;
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo) {
  if (!g_ready) return CKR_CRYPTOKI_NOT_INITIALIZED;
  if (!slot_get(slotID)) return CKR_SLOT_ID_INVALID;
  if (!pInfo) return CKR_ARGUMENTS_BAD;
  char d[64];
  snprintf(d, sizeof d, "hsm-sim slot %lu", slotID);
  memset(pInfo, 0, sizeof *pInfo);
  pad_copy(pInfo->slotDescription, 64, d);
  pad_copy(pInfo->manufacturerID, 32, "sm2ca hsm-sim");
  pInfo->flags = CKF_TOKEN_PRESENT | CKF_HW_SLOT;
  pInfo->hardwareVersion.major = 1;
  pInfo->firmwareVersion.major = 1;
  return CKR_OK;
}

CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo) {
  LOCK();
  slot_t *s = g_ready ? slot_get(slotID) : NULL;
  CK_RV rv = !g_ready ? CKR_CRYPTOKI_NOT_INITIALIZED : !s ? CKR_SLOT_ID_INVALID : !pInfo ? CKR_ARGUMENTS_BAD : CKR_OK;
  if (rv == CKR_OK) rv = store_sync(s);
  if (rv == CKR_OK) {
    memset(pInfo, 0, sizeof *pInfo);
    memcpy(pInfo->label, s->initialized ? s->label : "                                ", 32);
    pad_copy(pInfo->manufacturerID, 32, "sm2ca hsm-sim");
    pad_copy(pInfo->model, 16, "hsm-sim SM2");
    char serial[17];
    if (s->initialized) hex_encode(s->token_id, 8, serial);
    else snprintf(serial, sizeof serial, "%016lu", slotID % 100000UL);
    memcpy(pInfo->serialNumber, serial, 16);
    pInfo->flags = CKF_RNG | CKF_LOGIN_REQUIRED;
    if (s->initialized) pInfo->flags |= CKF_TOKEN_INITIALIZED;
    if (s->user_set) pInfo->flags |= CKF_USER_PIN_INITIALIZED;
    pInfo->flags |= store_pin_flags(s);
    CK_ULONG all = 0, rw = 0;
    for (size_t i = 0; i < sess_span(); i++) {
      session_t *x = sess_at(i);
      if (!x || x->slot != slotID) continue;
      all++;
      if (sess_rw(x)) rw++;
    }
    pInfo->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    pInfo->ulSessionCount = all;
    pInfo->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    pInfo->ulRwSessionCount = rw;
    pInfo->ulMaxPinLen = MAX_PIN;
    pInfo->ulMinPinLen = MIN_PIN;
    pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->hardwareVersion.major = 1;
    pInfo->firmwareVersion.major = 1;
    memset(pInfo->utcTime, ' ', 16);
  }
  UNLOCK();
  return rv;
}

CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pLabel) {
  LOCK();
  slot_t *s = g_ready ? slot_get(slotID) : NULL;
  CK_RV rv = !g_ready ? CKR_CRYPTOKI_NOT_INITIALIZED : !s ? CKR_SLOT_ID_INVALID : CKR_OK;
  if (rv == CKR_OK && (!pPin || !pLabel)) rv = CKR_ARGUMENTS_BAD;
  if (rv == CKR_OK && (ulPinLen < MIN_PIN || ulPinLen > MAX_PIN)) rv = CKR_PIN_LEN_RANGE;
  for (size_t i = 0; rv == CKR_OK && i < sess_span(); i++) {
    session_t *x = sess_at(i);
    if (x && x->slot == slotID) rv = CKR_SESSION_EXISTS;
  }
  if (rv == CKR_OK) {
    unsigned char label[32];
    memcpy(label, pLabel, 32);
    /* some callers NUL-terminate instead of blank-padding */
    unsigned char *nul = memchr(label, 0, 32);
    if (nul) memset(nul, ' ', (size_t)(label + 32 - nul));
    rv = store_init_token(s, pPin, ulPinLen, label);
  }
  UNLOCK();
  return rv;
}

CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  if (!pSeed && ulSeedLen) rv = CKR_ARGUMENTS_BAD;
  sess_release(s);
  return rv;
}

CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen) {
  session_t *s;
  CK_RV rv = sess_acquire(hSession, &s);
  if (rv != CKR_OK) return rv;
  if (!RandomData && ulRandomLen) rv = CKR_ARGUMENTS_BAD;
  else if (ulRandomLen) rv = random_bytes(RandomData, ulRandomLen);
  sess_release(s);
  return rv;
}

#define NOT_SUPPORTED(name, args)                                         \
  CK_RV name args {                                                       \
    return g_ready ? CKR_FUNCTION_NOT_SUPPORTED : CKR_CRYPTOKI_NOT_INITIALIZED; \
  }

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
NOT_SUPPORTED(C_SignRecoverInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey))
NOT_SUPPORTED(C_SignRecover, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                              CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen))
NOT_SUPPORTED(C_VerifyRecoverInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey))
NOT_SUPPORTED(C_VerifyRecover, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen,
                                CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen))
NOT_SUPPORTED(C_DigestEncryptUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                                      CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen))
NOT_SUPPORTED(C_DecryptDigestUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen))
NOT_SUPPORTED(C_SignEncryptUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                                    CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen))
NOT_SUPPORTED(C_DecryptVerifyUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen))
NOT_SUPPORTED(C_DeriveKey, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hBaseKey,
                            CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey))
NOT_SUPPORTED(C_DigestKey, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey))
NOT_SUPPORTED(C_WaitForSlotEvent, (CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved))
#pragma GCC diagnostic pop

/* Legacy parallel-function calls: the spec's answer for a modern library. */
CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession) {
  (void)hSession;
  return g_ready ? CKR_FUNCTION_NOT_PARALLEL : CKR_CRYPTOKI_NOT_INITIALIZED;
}

CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession) {
  (void)hSession;
  return g_ready ? CKR_FUNCTION_NOT_PARALLEL : CKR_CRYPTOKI_NOT_INITIALIZED;
}

#define LIST_ENTRY(name, args) name,
static CK_FUNCTION_LIST function_list = {{2, 40}, HSM_P11_FUNCTIONS(LIST_ENTRY)};
#undef LIST_ENTRY

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList) {
  if (!ppFunctionList) return CKR_ARGUMENTS_BAD;
  *ppFunctionList = &function_list;
  return CKR_OK;
}

CK_RV out_len_check(unsigned char *out, CK_ULONG_PTR outlen, size_t need) {
  if (!out) {
    *outlen = need;
    return CKR_OK;
  }
  if (*outlen < need) {
    *outlen = need;
    return CKR_BUFFER_TOO_SMALL;
  }
  return CKR_OK;
}
