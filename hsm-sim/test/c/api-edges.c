/* Edge cases of the C API that the JavaScript bindings cannot reach: NULL
 * pointers, the NULL-output length query, short buffers, calls out of order.
 * Exit status is the number of failed expectations.
 * Usage: api-edges <path to libhsm-sim.so>   (HSMSIM_DIR must point to an empty dir) */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "../../src/pkcs11.h"

static int failures;

#define EXPECT(call, want)                                                                      \
  do {                                                                                          \
    CK_RV got_ = (call);                                                                        \
    if (got_ != (want)) {                                                                       \
      fprintf(stderr, "line %d: %s -> 0x%lx, want 0x%lx\n", __LINE__, #call, got_, (CK_RV)(want)); \
      failures++;                                                                               \
    }                                                                                           \
  } while (0)

#define CHECK(cond)                                                \
  do {                                                             \
    if (!(cond)) {                                                 \
      fprintf(stderr, "line %d: check failed: %s\n", __LINE__, #cond); \
      failures++;                                                  \
    }                                                              \
  } while (0)

int main(int argc, char **argv) {
  if (argc < 2) return 100;
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) {
    fprintf(stderr, "%s\n", dlerror());
    return 100;
  }
  CK_RV (*get_list)(CK_FUNCTION_LIST **) = (CK_RV(*)(CK_FUNCTION_LIST **))dlsym(lib, "C_GetFunctionList");
  CK_FUNCTION_LIST *f = NULL;
  EXPECT(get_list(NULL), CKR_ARGUMENTS_BAD);
  EXPECT(get_list(&f), CKR_OK);
  CHECK(f->version.major == 2 && f->version.minor == 40);
  CHECK(f->C_WaitForSlotEvent != NULL && f->C_GetFunctionStatus != NULL);

  CK_ULONG n = 0, len = 0, count = 0;
  CK_SESSION_HANDLE s = 0;
  CK_OBJECT_HANDLE pub = 0, priv = 0, k4 = 0, o = 0;
  unsigned char buf[512], sig[128], ct[256], label[32];
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  memset(buf, 0x5a, sizeof buf);
  memset(ct, 0, sizeof ct);

  /* before C_Initialize */
  EXPECT(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
  EXPECT(f->C_Sign(1, NULL, 0, NULL, NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
  EXPECT(f->C_FindObjects(1, NULL, 0, NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
  CK_C_INITIALIZE_ARGS bad = {0};
  bad.pReserved = &n;
  EXPECT(f->C_Initialize(&bad), CKR_ARGUMENTS_BAD);
  CK_C_INITIALIZE_ARGS ok = {0};
  ok.flags = CKF_OS_LOCKING_OK;
  EXPECT(f->C_Initialize(&ok), CKR_OK);
  EXPECT(f->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);

  /* slots and mechanisms: two-call convention */
  EXPECT(f->C_GetSlotList(CK_FALSE, NULL, NULL), CKR_ARGUMENTS_BAD);
  EXPECT(f->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
  CHECK(n == 4);
  CK_SLOT_ID slots[8];
  n = 1;
  EXPECT(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_BUFFER_TOO_SMALL);
  CHECK(n == 4);
  EXPECT(f->C_GetSlotInfo(99, (CK_SLOT_INFO *)buf), CKR_SLOT_ID_INVALID);
  EXPECT(f->C_GetTokenInfo(0, NULL), CKR_ARGUMENTS_BAD);
  EXPECT(f->C_GetMechanismList(0, NULL, &n), CKR_OK);
  CHECK(n == 8);
  CK_MECHANISM_INFO mi;
  EXPECT(f->C_GetMechanismInfo(0, 0x80008100UL, &mi), CKR_OK);
  CHECK((mi.flags & (CKF_SIGN | CKF_VERIFY | CKF_HW)) == (CKF_SIGN | CKF_VERIFY | CKF_HW));
  EXPECT(f->C_GetMechanismInfo(0, 0x1UL, &mi), CKR_MECHANISM_INVALID);

  /* token set-up */
  memset(label, ' ', sizeof label);
  EXPECT(f->C_InitToken(0, NULL, 0, label), CKR_ARGUMENTS_BAD);
  EXPECT(f->C_InitToken(0, (CK_UTF8CHAR_PTR) "12", 2, label), CKR_PIN_LEN_RANGE);
  EXPECT(f->C_InitToken(0, (CK_UTF8CHAR_PTR) "sopin123", 8, label), CKR_OK);
  EXPECT(f->C_OpenSession(0, 0, NULL, NULL, &s), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
  EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
  EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s), CKR_OK);
  EXPECT(f->C_Login(s, 7, (CK_UTF8CHAR_PTR) "x", 1), CKR_USER_TYPE_INVALID);
  EXPECT(f->C_Login(s, CKU_SO, NULL, 0), CKR_ARGUMENTS_BAD);
  EXPECT(f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR) "sopin123", 8), CKR_OK);
  EXPECT(f->C_InitPIN(s, (CK_UTF8CHAR_PTR) "1", 1), CKR_PIN_LEN_RANGE);
  EXPECT(f->C_InitPIN(s, (CK_UTF8CHAR_PTR) "userpin1", 8), CKR_OK);
  EXPECT(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "userpin1", 8), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
  EXPECT(f->C_Logout(s), CKR_OK);
  EXPECT(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "userpin1", 8), CKR_OK);

  /* templates */
  CK_OBJECT_CLASS pubcls = CKO_PUBLIC_KEY, privcls = CKO_PRIVATE_KEY, seccls = CKO_SECRET_KEY;
  CK_ULONG sm2 = 0x80000004UL, sm4 = 0x80000106UL, vlen = 32;
  CK_ATTRIBUTE null_class[] = {{CKA_CLASS, NULL, sizeof(CK_ULONG)}};
  CK_ATTRIBUTE short_class[] = {{CKA_CLASS, &pubcls, 4}};
  CK_ATTRIBUTE short_point[] = {{CKA_CLASS, &pubcls, sizeof pubcls}, {CKA_KEY_TYPE, &sm2, sizeof sm2}, {CKA_EC_POINT, buf, 3}};
  EXPECT(f->C_CreateObject(s, NULL, 1, &o), CKR_ARGUMENTS_BAD);
  EXPECT(f->C_CreateObject(s, null_class, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
  EXPECT(f->C_CreateObject(s, short_class, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
  EXPECT(f->C_CreateObject(s, short_point, 3, &o), CKR_ATTRIBUTE_VALUE_INVALID);

  /* SM2 key pair */
  CK_MECHANISM gen = {0x80008001UL, NULL, 0}, gen_param = {0x80008001UL, buf, 5};
  CK_ATTRIBUTE tpub[] = {{CKA_TOKEN, &yes, 1}, {CKA_LABEL, "edge", 4}};
  CK_ATTRIBUTE tpriv[] = {{CKA_TOKEN, &yes, 1}, {CKA_LABEL, "edge", 4}, {CKA_EXTRACTABLE, &yes, 1}};
  EXPECT(f->C_GenerateKeyPair(s, &gen_param, tpub, 2, tpriv, 3, &pub, &priv), CKR_MECHANISM_PARAM_INVALID);
  EXPECT(f->C_GenerateKeyPair(s, &gen, tpub, 2, tpriv, 3, NULL, &priv), CKR_ARGUMENTS_BAD);
  EXPECT(f->C_GenerateKeyPair(s, &gen, tpub, 2, tpriv, 3, &pub, &priv), CKR_OK);

  /* sign: length query and short buffer keep the operation */
  CK_MECHANISM sm2sm3 = {0x80008100UL, NULL, 0}, id_null = {0x80008100UL, NULL, 4}, raw = {0x80008104UL, NULL, 0};
  EXPECT(f->C_SignInit(s, NULL, priv), CKR_ARGUMENTS_BAD);
  EXPECT(f->C_SignInit(s, &id_null, priv), CKR_MECHANISM_PARAM_INVALID);
  EXPECT(f->C_SignInit(s, &sm2sm3, pub), CKR_KEY_TYPE_INCONSISTENT);
  EXPECT(f->C_SignInit(s, &sm2sm3, priv), CKR_OK);
  len = 0;
  EXPECT(f->C_Sign(s, (CK_BYTE_PTR) "abc", 3, NULL, &len), CKR_OK);
  CHECK(len == 72);
  len = 10;
  EXPECT(f->C_Sign(s, (CK_BYTE_PTR) "abc", 3, sig, &len), CKR_BUFFER_TOO_SMALL);
  CHECK(len >= 68 && len <= 72);
  len = sizeof sig;
  EXPECT(f->C_Sign(s, (CK_BYTE_PTR) "abc", 3, sig, &len), CKR_OK);
  CK_ULONG siglen = len;
  EXPECT(f->C_Sign(s, (CK_BYTE_PTR) "abc", 3, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
  EXPECT(f->C_SignInit(s, &sm2sm3, priv), CKR_OK);
  EXPECT(f->C_Sign(s, NULL, 5, sig, &len), CKR_ARGUMENTS_BAD);
  EXPECT(f->C_SignFinal(s, sig, &len), CKR_OPERATION_NOT_INITIALIZED);

  EXPECT(f->C_VerifyInit(s, &sm2sm3, pub), CKR_OK);
  EXPECT(f->C_Verify(s, (CK_BYTE_PTR) "abc", 3, sig, 3), CKR_SIGNATURE_LEN_RANGE);
  EXPECT(f->C_VerifyInit(s, &sm2sm3, pub), CKR_OK);
  EXPECT(f->C_Verify(s, (CK_BYTE_PTR) "abc", 3, sig, siglen), CKR_OK);
  EXPECT(f->C_VerifyInit(s, &sm2sm3, priv), CKR_OK); /* the private object carries the point too */
  EXPECT(f->C_Verify(s, (CK_BYTE_PTR) "abd", 3, sig, siglen), CKR_SIGNATURE_INVALID);
  EXPECT(f->C_VerifyInit(s, &raw, pub), CKR_OK);
  EXPECT(f->C_VerifyUpdate(s, buf, 40), CKR_DATA_LEN_RANGE);
  EXPECT(f->C_VerifyFinal(s, sig, siglen), CKR_OPERATION_NOT_INITIALIZED);
  EXPECT(f->C_SignInit(s, &raw, priv), CKR_OK);
  EXPECT(f->C_SignUpdate(s, buf, 16), CKR_OK);
  EXPECT(f->C_SignUpdate(s, buf, 16), CKR_OK);
  len = sizeof sig;
  EXPECT(f->C_SignFinal(s, sig, &len), CKR_OK);

  /* SM2 encryption */
  CK_MECHANISM enc = {0x80008200UL, NULL, 0};
  EXPECT(f->C_EncryptInit(s, &enc, pub), CKR_OK);
  EXPECT(f->C_EncryptInit(s, &enc, pub), CKR_OPERATION_ACTIVE);
  len = 0;
  EXPECT(f->C_Encrypt(s, (CK_BYTE_PTR) "hello", 5, NULL, &len), CKR_OK);
  CHECK(len >= 5 + 96);
  EXPECT(f->C_EncryptUpdate(s, (CK_BYTE_PTR) "hello", 5, buf, &len), CKR_FUNCTION_NOT_SUPPORTED);
  len = 8;
  EXPECT(f->C_Encrypt(s, (CK_BYTE_PTR) "hello", 5, ct, &len), CKR_BUFFER_TOO_SMALL);
  CK_ULONG want = len;
  len = sizeof ct;
  EXPECT(f->C_Encrypt(s, (CK_BYTE_PTR) "hello", 5, ct, &len), CKR_OK);
  CHECK(len == want);
  CK_ULONG ctlen = len;
  EXPECT(f->C_EncryptInit(s, &enc, pub), CKR_OK);
  EXPECT(f->C_Encrypt(s, buf, 0, buf, &len), CKR_DATA_LEN_RANGE);
  EXPECT(f->C_DecryptInit(s, &enc, priv), CKR_OK);
  EXPECT(f->C_Decrypt(s, ct, 10, NULL, &len), CKR_ENCRYPTED_DATA_INVALID);
  EXPECT(f->C_DecryptInit(s, &enc, priv), CKR_OK);
  len = 0;
  EXPECT(f->C_Decrypt(s, ct, ctlen, NULL, &len), CKR_OK);
  CHECK(len == 5);
  len = 2;
  EXPECT(f->C_Decrypt(s, ct, ctlen, buf, &len), CKR_BUFFER_TOO_SMALL);
  CHECK(len == 5);
  len = sizeof buf;
  EXPECT(f->C_Decrypt(s, ct, ctlen, buf, &len), CKR_OK);
  CHECK(len == 5 && memcmp(buf, "hello", 5) == 0);

  /* SM4 */
  CK_MECHANISM g4 = {0x80000107UL, NULL, 0}, ecb = {0x80000108UL, NULL, 0};
  unsigned char iv[16] = {0};
  CK_MECHANISM cbc = {0x80000109UL, iv, 16}, cbc_bad = {0x80000109UL, NULL, 16};
  CK_ATTRIBUTE t4[] = {{CKA_TOKEN, &no, 1}, {CKA_EXTRACTABLE, &yes, 1}, {CKA_VALUE_LEN, &vlen, sizeof vlen}};
  EXPECT(f->C_GenerateKey(s, &g4, t4, 3, &k4), CKR_ATTRIBUTE_VALUE_INVALID);
  EXPECT(f->C_GenerateKey(s, &g4, t4, 2, &k4), CKR_OK);
  EXPECT(f->C_EncryptInit(s, &cbc_bad, k4), CKR_MECHANISM_PARAM_INVALID);
  EXPECT(f->C_EncryptInit(s, &cbc, k4), CKR_OK);
  len = sizeof buf;
  EXPECT(f->C_EncryptUpdate(s, buf, 7, buf + 100, &len), CKR_OK);
  CHECK(len == 0);
  len = 0;
  EXPECT(f->C_EncryptUpdate(s, buf, 9, NULL, &len), CKR_OK);
  CHECK(len == 16);
  EXPECT(f->C_EncryptUpdate(s, buf, 9, buf + 100, &len), CKR_OK);
  CHECK(len == 16);
  len = sizeof buf;
  EXPECT(f->C_EncryptFinal(s, buf + 100, &len), CKR_OK);
  CHECK(len == 0);
  EXPECT(f->C_EncryptInit(s, &ecb, k4), CKR_OK);
  len = sizeof buf;
  EXPECT(f->C_EncryptUpdate(s, buf, 7, buf + 100, &len), CKR_OK);
  EXPECT(f->C_EncryptFinal(s, buf + 100, &len), CKR_DATA_LEN_RANGE);
  EXPECT(f->C_DecryptInit(s, &ecb, k4), CKR_OK);
  len = sizeof buf;
  EXPECT(f->C_Decrypt(s, buf, 15, buf + 100, &len), CKR_ENCRYPTED_DATA_LEN_RANGE);

  /* wrapping */
  len = 0;
  EXPECT(f->C_WrapKey(s, &ecb, k4, priv, NULL, &len), CKR_OK);
  CHECK(len == 32);
  len = 16;
  EXPECT(f->C_WrapKey(s, &ecb, k4, priv, buf, &len), CKR_BUFFER_TOO_SMALL);
  len = sizeof buf;
  EXPECT(f->C_WrapKey(s, &ecb, k4, priv, buf, &len), CKR_OK);
  EXPECT(f->C_WrapKey(s, &ecb, priv, k4, buf, &len), CKR_WRAPPING_KEY_TYPE_INCONSISTENT);
  EXPECT(f->C_WrapKey(s, &ecb, 9999, k4, buf, &len), CKR_WRAPPING_KEY_HANDLE_INVALID);
  CK_ATTRIBUTE tu[] = {{CKA_CLASS, &privcls, sizeof privcls}, {CKA_KEY_TYPE, &sm2, sizeof sm2}, {CKA_TOKEN, &no, 1}};
  EXPECT(f->C_UnwrapKey(s, &ecb, k4, buf, 31, tu, 3, &o), CKR_WRAPPED_KEY_LEN_RANGE);
  EXPECT(f->C_UnwrapKey(s, &ecb, k4, buf, 32, tu, 1, &o), CKR_TEMPLATE_INCOMPLETE);
  EXPECT(f->C_UnwrapKey(s, &ecb, k4, buf, 32, tu, 3, &o), CKR_OK);
  EXPECT(f->C_UnwrapKey(s, &enc, priv, buf, 32, tu, 3, &o), CKR_WRAPPED_KEY_INVALID);
  len = 0;
  EXPECT(f->C_WrapKey(s, &enc, pub, k4, NULL, &len), CKR_OK);
  len = sizeof buf;
  EXPECT(f->C_WrapKey(s, &enc, pub, k4, buf, &len), CKR_OK);
  CK_ATTRIBUTE tu2[] = {{CKA_CLASS, &seccls, sizeof seccls}, {CKA_KEY_TYPE, &sm4, sizeof sm4}};
  EXPECT(f->C_UnwrapKey(s, &enc, priv, buf, len, tu2, 2, &o), CKR_OK);
  EXPECT(f->C_UnwrapKey(s, &enc, priv, buf, len - 1, tu2, 2, &o), CKR_WRAPPED_KEY_INVALID);

  /* digest */
  CK_MECHANISM dig = {0x80009001UL, NULL, 0};
  EXPECT(f->C_DigestInit(s, &dig), CKR_OK);
  len = 1;
  EXPECT(f->C_Digest(s, buf, 3, buf, &len), CKR_BUFFER_TOO_SMALL);
  CHECK(len == 32);
  len = 0;
  EXPECT(f->C_Digest(s, buf, 3, NULL, &len), CKR_OK);
  CHECK(len == 32);
  EXPECT(f->C_Digest(s, buf, 3, buf + 100, &len), CKR_OK);
  EXPECT(f->C_DigestFinal(s, buf, &len), CKR_OPERATION_NOT_INITIALIZED);

  /* attributes */
  CK_ATTRIBUTE ga[] = {{CKA_VALUE, NULL, 0}, {CKA_LABEL, NULL, 0}, {0x120UL, NULL, 0}, {CKA_EC_POINT, buf, 3}};
  EXPECT(f->C_GetAttributeValue(s, priv, ga, 4), CKR_ATTRIBUTE_SENSITIVE);
  CHECK(ga[0].ulValueLen == CK_UNAVAILABLE_INFORMATION && ga[1].ulValueLen == 4);
  CHECK(ga[2].ulValueLen == CK_UNAVAILABLE_INFORMATION && ga[3].ulValueLen == CK_UNAVAILABLE_INFORMATION);
  CK_ATTRIBUTE gp[] = {{CKA_EC_POINT, buf, 3}};
  EXPECT(f->C_GetAttributeValue(s, pub, gp, 1), CKR_BUFFER_TOO_SMALL);
  EXPECT(f->C_GetAttributeValue(s, priv, NULL, 4), CKR_ARGUMENTS_BAD);
  CK_ATTRIBUTE relabel[] = {{CKA_LABEL, "new", 3}, {CKA_SENSITIVE, &yes, 1}};
  EXPECT(f->C_SetAttributeValue(s, priv, relabel, 2), CKR_OK);
  CK_ATTRIBUTE loosen[] = {{CKA_SENSITIVE, &no, 1}};
  EXPECT(f->C_SetAttributeValue(s, priv, loosen, 1), CKR_ATTRIBUTE_READ_ONLY);

  /* find */
  CK_OBJECT_HANDLE found[16];
  EXPECT(f->C_FindObjects(s, found, 16, &count), CKR_OPERATION_NOT_INITIALIZED);
  EXPECT(f->C_FindObjectsInit(s, NULL, 1), CKR_ARGUMENTS_BAD);
  CK_ATTRIBUTE by_label[] = {{CKA_LABEL, "new", 3}};
  EXPECT(f->C_FindObjectsInit(s, by_label, 1), CKR_OK);
  EXPECT(f->C_FindObjectsInit(s, by_label, 1), CKR_OPERATION_ACTIVE);
  EXPECT(f->C_FindObjects(s, found, 16, &count), CKR_OK);
  CHECK(count == 1 && found[0] == priv);
  EXPECT(f->C_FindObjectsFinal(s), CKR_OK);

  /* handle recycling: many short-lived session objects, stale handles miss */
  unsigned char point[80];
  CK_ATTRIBUTE gpt[] = {{CKA_EC_POINT, point, sizeof point}};
  EXPECT(f->C_GetAttributeValue(s, pub, gpt, 1), CKR_OK);
  CK_ATTRIBUTE imp[] = {{CKA_CLASS, &pubcls, sizeof pubcls}, {CKA_KEY_TYPE, &sm2, sizeof sm2}, {CKA_TOKEN, &no, 1},
                        {CKA_EC_POINT, point, gpt[0].ulValueLen}};
  CK_OBJECT_HANDLE first = 0, h = 0;
  EXPECT(f->C_CreateObject(s, imp, 4, &first), CKR_OK);
  EXPECT(f->C_DestroyObject(s, first), CKR_OK);
  for (int i = 0; i < 2000; i++) {
    EXPECT(f->C_CreateObject(s, imp, 4, &h), CKR_OK);
    CHECK(h != first && h <= 0xFFFFFFFFUL);
    EXPECT(f->C_DestroyObject(s, h), CKR_OK);
  }
  EXPECT(f->C_GetAttributeValue(s, first, gpt, 1), CKR_OBJECT_HANDLE_INVALID);
  EXPECT(f->C_GetAttributeValue(s, h, gpt, 1), CKR_OBJECT_HANDLE_INVALID);
  for (int i = 0; i < 300; i++) {
    CK_SESSION_HANDLE t;
    EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &t), CKR_OK);
    EXPECT(f->C_CloseSession(t), CKR_OK);
    EXPECT(f->C_CloseSession(t), CKR_SESSION_HANDLE_INVALID);
  }

  /* misc */
  EXPECT(f->C_GenerateRandom(s, buf, 64), CKR_OK);
  EXPECT(f->C_SeedRandom(s, buf, 4), CKR_OK);
  EXPECT(f->C_SetPIN(s, (CK_UTF8CHAR_PTR) "bad", 3, (CK_UTF8CHAR_PTR) "newpin12", 8), CKR_PIN_INCORRECT);
  EXPECT(f->C_SetPIN(s, (CK_UTF8CHAR_PTR) "userpin1", 8, (CK_UTF8CHAR_PTR) "newpin12", 8), CKR_OK);
  EXPECT(f->C_DestroyObject(s, priv), CKR_OK);
  EXPECT(f->C_DestroyObject(s, priv), CKR_OBJECT_HANDLE_INVALID);
  EXPECT(f->C_CopyObject(s, pub, NULL, 0, &o), CKR_FUNCTION_NOT_SUPPORTED);
  EXPECT(f->C_GetFunctionStatus(s), CKR_FUNCTION_NOT_PARALLEL);
  CK_SESSION_INFO si;
  EXPECT(f->C_GetSessionInfo(s, &si), CKR_OK);
  CHECK(si.state == CKS_RW_USER_FUNCTIONS);
  EXPECT(f->C_EncryptInit(s, &enc, pub), CKR_OK);
  EXPECT(f->C_CloseSession(s), CKR_OK); /* with an operation still active */
  EXPECT(f->C_CloseSession(s), CKR_SESSION_HANDLE_INVALID);
  EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
  EXPECT(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "newpin12", 8), CKR_OK);
  /* login is per application and slot: a new session inherits it */
  CK_SESSION_HANDLE s2 = 0;
  EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s2), CKR_OK);
  EXPECT(f->C_GetSessionInfo(s2, &si), CKR_OK);
  CHECK(si.state == CKS_RO_USER_FUNCTIONS);
  EXPECT(f->C_Logout(s2), CKR_OK);
  EXPECT(f->C_GetSessionInfo(s, &si), CKR_OK);
  CHECK(si.state == CKS_RO_PUBLIC_SESSION);
  /* SO login needs every session read/write; then the SO changes its own PIN */
  EXPECT(f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR) "sopin123", 8), CKR_SESSION_READ_ONLY_EXISTS);
  EXPECT(f->C_CloseSession(s), CKR_OK);
  EXPECT(f->C_CloseSession(s2), CKR_OK);
  EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s), CKR_OK);
  EXPECT(f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR) "sopin123", 8), CKR_OK);
  EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s2), CKR_SESSION_READ_WRITE_SO_EXISTS);
  EXPECT(f->C_SetPIN(s, (CK_UTF8CHAR_PTR) "sopin123", 8, (CK_UTF8CHAR_PTR) "sopin456", 8), CKR_OK);
  EXPECT(f->C_Logout(s), CKR_OK);
  EXPECT(f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR) "sopin123", 8), CKR_PIN_INCORRECT);
  EXPECT(f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR) "sopin456", 8), CKR_OK);
  EXPECT(f->C_Logout(s), CKR_OK);
  EXPECT(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "newpin12", 8), CKR_OK);
  /* retry limit: ten wrong user PINs lock it, flags say how close it is, the SO unlocks it */
  CK_TOKEN_INFO ti;
  EXPECT(f->C_Logout(s), CKR_OK);
  for (int i = 0; i < 9; i++) EXPECT(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "wrongpin", 8), CKR_PIN_INCORRECT);
  EXPECT(f->C_GetTokenInfo(0, &ti), CKR_OK);
  CHECK((ti.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY)) ==
        (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY));
  EXPECT(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "wrongpin", 8), CKR_PIN_INCORRECT);
  EXPECT(f->C_GetTokenInfo(0, &ti), CKR_OK);
  CHECK((ti.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)) == CKF_USER_PIN_LOCKED);
  EXPECT(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "newpin12", 8), CKR_PIN_LOCKED);
  EXPECT(f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR) "sopin456", 8), CKR_OK);
  EXPECT(f->C_InitPIN(s, (CK_UTF8CHAR_PTR) "newpin34", 8), CKR_OK);
  EXPECT(f->C_Logout(s), CKR_OK);
  EXPECT(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "newpin34", 8), CKR_OK);
  EXPECT(f->C_GetTokenInfo(0, &ti), CKR_OK);
  CHECK((ti.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_LOCKED | CKF_SO_PIN_COUNT_LOW)) == 0);
  EXPECT(f->C_Finalize(NULL), CKR_OK);
  EXPECT(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
  EXPECT(f->C_Initialize(NULL), CKR_OK);
  EXPECT(f->C_Finalize(NULL), CKR_OK);
  dlclose(lib);
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  return failures;
}
