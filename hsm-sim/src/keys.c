/* Checks shared by every operation that uses a key object. Global lock held. */
#include <string.h>

#include "hsm.h"

CK_RV key_check(object_t *o, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, CK_ATTRIBUTE_TYPE usage) {
  if (o->cls != cls || o->ktype != kt) return CKR_KEY_TYPE_INCONSISTENT;
  if (usage != CK_UNAVAILABLE_INFORMATION && !attrs_bool(&o->attrs, usage, 0)) return CKR_KEY_FUNCTION_NOT_PERMITTED;
  if (o->sealed) return CKR_USER_NOT_LOGGED_IN;
  return CKR_OK;
}

CK_RV key_sm4_value(object_t *o, unsigned char key[SM4_KEY_LEN]) {
  attr_t *v = attrs_find(&o->attrs, CKA_VALUE);
  if (!v || v->len != SM4_KEY_LEN) return CKR_KEY_TYPE_INCONSISTENT;
  memcpy(key, v->val, SM4_KEY_LEN);
  return CKR_OK;
}
