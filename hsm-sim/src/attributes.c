/* Attribute lists held by objects, template helpers and the on-disk encoding. */
#include <stdlib.h>
#include <string.h>

#include "hsm.h"

const unsigned char SM2_EC_PARAMS[10] = {0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D};

void attrs_free(attrs_t *a) {
  for (size_t i = 0; i < a->n; i++) {
    wipe(a->v[i].val, a->v[i].len);
    free(a->v[i].val);
  }
  free(a->v);
  a->v = NULL;
  a->n = a->cap = 0;
}

attr_t *attrs_find(const attrs_t *a, CK_ATTRIBUTE_TYPE t) {
  for (size_t i = 0; i < a->n; i++)
    if (a->v[i].type == t) return &a->v[i];
  return NULL;
}

CK_RV attrs_set(attrs_t *a, CK_ATTRIBUTE_TYPE t, const void *v, CK_ULONG len) {
  unsigned char *copy = malloc(len ? len : 1);
  if (!copy) return CKR_HOST_MEMORY;
  if (len) memcpy(copy, v, len);
  attr_t *cur = attrs_find(a, t);
  if (cur) {
    wipe(cur->val, cur->len);
    free(cur->val);
    cur->val = copy;
    cur->len = len;
    return CKR_OK;
  }
  if (a->n == a->cap) {
    size_t ncap = a->cap ? a->cap * 2 : 16;
    attr_t *nv = realloc(a->v, ncap * sizeof(*nv));
    if (!nv) {
      free(copy);
      return CKR_HOST_MEMORY;
    }
    a->v = nv;
    a->cap = ncap;
  }
  a->v[a->n].type = t;
  a->v[a->n].len = len;
  a->v[a->n].val = copy;
  a->n++;
  return CKR_OK;
}

CK_RV attrs_set_bool(attrs_t *a, CK_ATTRIBUTE_TYPE t, int b) {
  CK_BBOOL v = b ? CK_TRUE : CK_FALSE;
  return attrs_set(a, t, &v, 1);
}

CK_RV attrs_set_ulong(attrs_t *a, CK_ATTRIBUTE_TYPE t, CK_ULONG v) { return attrs_set(a, t, &v, sizeof v); }

void attrs_remove(attrs_t *a, CK_ATTRIBUTE_TYPE t) {
  for (size_t i = 0; i < a->n; i++) {
    if (a->v[i].type != t) continue;
    wipe(a->v[i].val, a->v[i].len);
    free(a->v[i].val);
    a->v[i] = a->v[a->n - 1];
    a->n--;
    return;
  }
}

int attrs_bool(const attrs_t *a, CK_ATTRIBUTE_TYPE t, int dflt) {
  attr_t *x = attrs_find(a, t);
  if (!x || x->len != 1) return dflt;
  return x->val[0] != 0;
}

int attrs_ulong(const attrs_t *a, CK_ATTRIBUTE_TYPE t, CK_ULONG *out) {
  attr_t *x = attrs_find(a, t);
  if (!x || x->len != sizeof(CK_ULONG)) return 0;
  memcpy(out, x->val, sizeof(CK_ULONG));
  return 1;
}

int attr_is_bool(CK_ATTRIBUTE_TYPE t) {
  switch (t) {
    case CKA_TOKEN: case CKA_PRIVATE: case CKA_TRUSTED: case CKA_SENSITIVE: case CKA_ENCRYPT:
    case CKA_DECRYPT: case CKA_WRAP: case CKA_UNWRAP: case CKA_SIGN: case CKA_SIGN_RECOVER:
    case CKA_VERIFY: case CKA_VERIFY_RECOVER: case CKA_DERIVE: case CKA_EXTRACTABLE: case CKA_LOCAL:
    case CKA_NEVER_EXTRACTABLE: case CKA_ALWAYS_SENSITIVE: case CKA_MODIFIABLE: case CKA_COPYABLE:
    case CKA_DESTROYABLE: case CKA_ALWAYS_AUTHENTICATE: case CKA_WRAP_WITH_TRUSTED:
      return 1;
    default:
      return 0;
  }
}

int attr_is_ulong(CK_ATTRIBUTE_TYPE t) {
  switch (t) {
    case CKA_CLASS: case CKA_KEY_TYPE: case CKA_CERTIFICATE_TYPE: case CKA_VALUE_LEN:
    case CKA_KEY_GEN_MECHANISM:
      return 1;
    default:
      return 0;
  }
}

const CK_ATTRIBUTE *tmpl_find(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type) {
  if (!t) return NULL;
  for (CK_ULONG i = 0; i < n; i++)
    if (t[i].type == type) return &t[i];
  return NULL;
}

/* Rejects malformed scalars up front so later code can read them blindly. */
CK_RV tmpl_check_shapes(const CK_ATTRIBUTE *t, CK_ULONG n) {
  if (n && !t) return CKR_ARGUMENTS_BAD;
  for (CK_ULONG i = 0; i < n; i++) {
    if (t[i].ulValueLen && !t[i].pValue) return CKR_ATTRIBUTE_VALUE_INVALID;
    if (attr_is_bool(t[i].type) && t[i].ulValueLen != 1) return CKR_ATTRIBUTE_VALUE_INVALID;
    if (attr_is_ulong(t[i].type) && t[i].ulValueLen != sizeof(CK_ULONG)) return CKR_ATTRIBUTE_VALUE_INVALID;
    if (t[i].type & CKF_ARRAY_ATTRIBUTE && t[i].type != CKA_ALLOWED_MECHANISMS) return CKR_ATTRIBUTE_TYPE_INVALID;
  }
  return CKR_OK;
}

int tmpl_bool(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type, int dflt) {
  const CK_ATTRIBUTE *a = tmpl_find(t, n, type);
  if (!a || a->ulValueLen != 1 || !a->pValue) return dflt;
  return *(CK_BBOOL *)a->pValue != 0;
}

int tmpl_ulong(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_ULONG *out) {
  const CK_ATTRIBUTE *a = tmpl_find(t, n, type);
  if (!a || a->ulValueLen != sizeof(CK_ULONG) || !a->pValue) return 0;
  memcpy(out, a->pValue, sizeof(CK_ULONG));
  return 1;
}

/* Encoding: repeated (type u64 BE, len u32 BE, bytes); fixed width so files
 * move between 32- and 64-bit builds. */
static void put_be(unsigned char *p, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; i--) {
    p[i] = (unsigned char)v;
    v >>= 8;
  }
}

static uint64_t get_be(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

CK_RV attrs_encode(const attrs_t *a, int (*keep)(CK_ATTRIBUTE_TYPE, void *), void *arg, unsigned char **out,
                   size_t *outlen) {
  size_t total = 0;
  for (size_t i = 0; i < a->n; i++)
    if (keep(a->v[i].type, arg)) total += 12 + (a->v[i].len > 8 ? a->v[i].len : 8);
  unsigned char *buf = malloc(total ? total : 1);
  if (!buf) return CKR_HOST_MEMORY;
  unsigned char *p = buf;
  for (size_t i = 0; i < a->n; i++) {
    if (!keep(a->v[i].type, arg)) continue;
    const attr_t *x = &a->v[i];
    CK_ULONG len = x->len;
    int is_ulong = attr_is_ulong(x->type) && len == sizeof(CK_ULONG);
    put_be(p, x->type, 8);
    /* ulong values are stored as 8-byte big-endian, flagged in the length's top bit */
    if (is_ulong) {
      CK_ULONG v;
      memcpy(&v, x->val, sizeof v);
      put_be(p + 8, 0x80000008u, 4);
      put_be(p + 12, v, 8);
      p += 20;
      continue;
    }
    put_be(p + 8, len, 4);
    memcpy(p + 12, x->val, len);
    p += 12 + len;
  }
  *out = buf;
  *outlen = (size_t)(p - buf);
  return CKR_OK;
}

CK_RV attrs_decode(attrs_t *a, const unsigned char *buf, size_t len) {
  size_t off = 0;
  while (off < len) {
    if (len - off < 12) return CKR_DEVICE_ERROR;
    CK_ATTRIBUTE_TYPE type = (CK_ATTRIBUTE_TYPE)get_be(buf + off, 8);
    uint32_t l = (uint32_t)get_be(buf + off + 8, 4);
    off += 12;
    if (l == 0x80000008u) {
      if (len - off < 8) return CKR_DEVICE_ERROR;
      CK_ULONG v = (CK_ULONG)get_be(buf + off, 8);
      off += 8;
      if (attrs_set_ulong(a, type, v) != CKR_OK) return CKR_HOST_MEMORY;
      continue;
    }
    if (len - off < l) return CKR_DEVICE_ERROR;
    if (attrs_set(a, type, buf + off, l) != CKR_OK) return CKR_HOST_MEMORY;
    off += l;
  }
  return CKR_OK;
}
