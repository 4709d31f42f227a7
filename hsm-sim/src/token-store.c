/*
 * Token persistence. Layout under <root>/slot-<n>/:
 *   token.meta   label, salts, KDF parameters and the token key wrapped under
 *                each PIN, and each PIN's count of failed logins
 *   gen          counter bumped after every change, so other processes
 *                know when to re-read the directory
 *   lock         flock(2) target serialising writers across processes
 *   objects/<32 hex>.obj   one file per token object
 * Every file is replaced by write-temp + fsync + rename, so readers never
 * need the lock: they see either the old or the new file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsm.h"

#define PBKDF2_ITER 20000
#define OBJ_MAGIC "HSO1"

static void path_of(const slot_t *s, const char *name, char *out, size_t n) {
  snprintf(out, n, "%s/%s", s->dir, name);
}

static int mkdirs(const char *path) {
  char tmp[4096];
  size_t len = strlen(path);
  if (len >= sizeof tmp) return -1;
  memcpy(tmp, path, len + 1);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, 0700) && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(tmp, 0700) && errno != EEXIST) return -1;
  return 0;
}

static int lock_token(slot_t *s) {
  char p[4096];
  path_of(s, "objects", p, sizeof p);
  if (mkdirs(p)) return -1;
  path_of(s, "lock", p, sizeof p);
  int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  while (flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      close(fd);
      return -1;
    }
  }
  return fd;
}

static void unlock_token(int fd) {
  flock(fd, LOCK_UN);
  close(fd);
}

static int write_all(int fd, const unsigned char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int write_atomic(const char *dir, const char *name, const void *data, size_t len, struct stat *st) {
  char tmp[4096], dst[4096];
  unsigned char r[6];
  char rh[13];
  if (random_bytes(r, sizeof r) != CKR_OK) return -1;
  hex_encode(r, sizeof r, rh);
  snprintf(tmp, sizeof tmp, "%s/.%s.%d.%s.tmp", dir, name, (int)getpid(), rh);
  snprintf(dst, sizeof dst, "%s/%s", dir, name);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (write_all(fd, data, len) || fsync(fd)) {
    close(fd);
    unlink(tmp);
    return -1;
  }
  if (st && fstat(fd, st)) memset(st, 0, sizeof *st);
  close(fd);
  if (rename(tmp, dst)) {
    unlink(tmp);
    return -1;
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return 0;
}

static unsigned char *read_file(const char *path, size_t *len, struct stat *st) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat sb;
  if (fstat(fd, &sb) || sb.st_size > (1 << 24)) {
    close(fd);
    return NULL;
  }
  size_t n = (size_t)sb.st_size;
  unsigned char *buf = malloc(n + 1);
  size_t got = 0;
  while (buf && got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (!buf || got != n) {
    free(buf);
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  if (st) *st = sb;
  return buf;
}

static unsigned long long read_gen(slot_t *s) {
  char p[4096];
  size_t n;
  path_of(s, "gen", p, sizeof p);
  unsigned char *b = read_file(p, &n, NULL);
  if (!b) return 0;
  unsigned long long g = strtoull((char *)b, NULL, 10);
  free(b);
  return g;
}

/* Called with the token lock held, after the caller has applied its own change
 * in memory: if nobody else wrote since our last sync we stay in sync. */
static void bump_gen(slot_t *s) {
  unsigned long long g = read_gen(s);
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%llu\n", g + 1);
  if (write_atomic(s->dir, "gen", buf, (size_t)n, NULL) == 0 && s->gen_known && g == s->gen) s->gen = g + 1;
}

/* ---- token.meta ---- */

static const unsigned char *wrap_aad(const slot_t *s, CK_USER_TYPE who, unsigned char aad[20]) {
  memcpy(aad, who == CKU_SO ? "so-k" : "us-k", 4);
  memcpy(aad + 4, s->token_id, 16);
  return aad;
}

static void drop_token_objects(slot_t *s) {
  for (size_t i = 0; i < obj_span(); i++) {
    object_t *o = obj_at(i);
    if (o && o->token && o->slot == s->id) {
      obj_unregister(o);
      obj_free(o);
    }
  }
}

static void forget_login(slot_t *s) {
  wipe(s->tkey, sizeof s->tkey);
  s->have_key = 0;
  s->login = CK_UNAVAILABLE_INFORMATION;
}

static int is_obj_name(const char *n) {
  if (strlen(n) != 36 || strcmp(n + 32, ".obj")) return 0;
  for (int i = 0; i < 32; i++)
    if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f'))) return 0;
  return 1;
}

/* Whether objects/ may hold token objects; a directory we cannot list might. */
static int may_hold_objects(slot_t *s) {
  char p[4096];
  path_of(s, "objects", p, sizeof p);
  DIR *d = opendir(p);
  if (!d) return errno != ENOENT;
  struct dirent *e;
  int found = 0;
  while (!found && (e = readdir(d))) found = is_obj_name(e->d_name);
  closedir(d);
  return found;
}

/* A token whose state cannot be read is not a blank one: treating it as blank
 * would let C_InitToken erase its objects without the SO PIN that guards them.
 * Like a card a reader cannot parse, it stays present but unrecognised until
 * token.meta is restored; only this process's view of it (login, loaded
 * objects) is dropped, never a file. */
static CK_RV mark_unreadable(slot_t *s) {
  s->initialized = 0;
  s->user_set = 0;
  s->unreadable = 1;
  forget_login(s);
  drop_token_objects(s);
  return CKR_TOKEN_NOT_RECOGNIZED;
}

static CK_RV load_meta(slot_t *s) {
  char p[4096];
  size_t n;
  struct stat st;
  path_of(s, "token.meta", p, sizeof p);
  unsigned char *b = read_file(p, &n, NULL);
  unsigned char old_id[16];
  int was_init = s->initialized;
  memcpy(old_id, s->token_id, 16);
  if (!b) {
    int absent = stat(p, &st) != 0 && errno == ENOENT;
    if (!absent || may_hold_objects(s)) return mark_unreadable(s);
    s->initialized = 0;
    s->unreadable = 0;
    s->user_set = 0;
    if (was_init) {
      forget_login(s);
      drop_token_objects(s);
    }
    return CKR_OK;
  }
  int ok_id = 0, ok_so = 0, ok_ssalt = 0, ok_us = 0, ok_usalt = 0, ok_kdf = 1;
  size_t l;
  char *save = NULL;
  memset(s->label, ' ', sizeof s->label);
  /* a token.meta from before scrypt names no KDF: its PINs are PBKDF2 with "iter" */
  kdf_t legacy = {0, 0, 0, 0, PBKDF2_ITER};
  int so_kdf = 0, user_kdf = 0;
  s->so_fails = s->user_fails = 0;
  for (char *line = strtok_r((char *)b, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = 0;
    const char *k = line, *v = eq + 1;
    if (!strcmp(k, "token_id")) ok_id = hex_decode(v, s->token_id, 16, &l) && l == 16;
    else if (!strcmp(k, "label")) {
      unsigned char lab[32];
      if (hex_decode(v, lab, 32, &l)) {
        memset(s->label, ' ', 32);
        memcpy(s->label, lab, l);
      }
    } else if (!strcmp(k, "iter")) {
      unsigned long it = strtoul(v, NULL, 10);
      if (it >= 1000 && it < 100000000) legacy.iter = (unsigned)it;
    } else if (!strcmp(k, "so_kdf")) {
      so_kdf = 1;
      ok_kdf &= kdf_parse(v, &s->so_kdf);
    } else if (!strcmp(k, "user_kdf")) {
      user_kdf = 1;
      ok_kdf &= kdf_parse(v, &s->user_kdf);
    } else if (!strcmp(k, "so_fails")) {
      s->so_fails = (unsigned)strtoul(v, NULL, 10);
    } else if (!strcmp(k, "user_fails")) {
      s->user_fails = (unsigned)strtoul(v, NULL, 10);
    } else if (!strcmp(k, "so_salt")) ok_ssalt = hex_decode(v, s->so_salt, SALT_LEN, &l) && l == SALT_LEN;
    else if (!strcmp(k, "so_key")) ok_so = hex_decode(v, s->so_wrap, sizeof s->so_wrap, &l) && l == sizeof s->so_wrap;
    else if (!strcmp(k, "user_salt")) ok_usalt = hex_decode(v, s->user_salt, SALT_LEN, &l) && l == SALT_LEN;
    else if (!strcmp(k, "user_key"))
      ok_us = hex_decode(v, s->user_wrap, sizeof s->user_wrap, &l) && l == sizeof s->user_wrap;
  }
  free(b);
  if (!(ok_id && ok_so && ok_ssalt && ok_kdf)) return mark_unreadable(s);
  if (!so_kdf) s->so_kdf = legacy;
  if (!user_kdf) s->user_kdf = legacy;
  s->initialized = 1;
  s->unreadable = 0;
  s->user_set = ok_us && ok_usalt;
  if (was_init && memcmp(old_id, s->token_id, 16) != 0) {
    /* re-initialised by another process: our key and objects are gone */
    forget_login(s);
    drop_token_objects(s);
  }
  return CKR_OK;
}

static CK_RV save_meta(slot_t *s) {
  char buf[1024], h1[200], h2[200], h3[200], h4[200], h5[70], h6[40], k1[64], k2[64];
  hex_encode(s->token_id, 16, h6);
  size_t ll = 32;
  while (ll > 0 && s->label[ll - 1] == ' ') ll--;
  hex_encode((const unsigned char *)s->label, ll, h5);
  hex_encode(s->so_salt, SALT_LEN, h1);
  hex_encode(s->so_wrap, sizeof s->so_wrap, h2);
  kdf_format(&s->so_kdf, k1, sizeof k1);
  int n = snprintf(buf, sizeof buf,
                   "version=2\ntoken_id=%s\nlabel=%s\nso_kdf=%s\nso_salt=%s\nso_key=%s\nso_fails=%u\n", h6, h5, k1,
                   h1, h2, s->so_fails);
  if (s->user_set) {
    hex_encode(s->user_salt, SALT_LEN, h3);
    hex_encode(s->user_wrap, sizeof s->user_wrap, h4);
    kdf_format(&s->user_kdf, k2, sizeof k2);
    n += snprintf(buf + n, sizeof buf - (size_t)n, "user_kdf=%s\nuser_salt=%s\nuser_key=%s\nuser_fails=%u\n", k2,
                  h3, h4, s->user_fails);
  }
  return write_atomic(s->dir, "token.meta", buf, (size_t)n, NULL) ? CKR_DEVICE_ERROR : CKR_OK;
}

static CK_RV wrap_for(slot_t *s, CK_USER_TYPE who, const unsigned char *pin, size_t pinlen,
                      const unsigned char tkey[TOKEN_KEY_LEN]) {
  unsigned char k[TOKEN_KEY_LEN], aad[20];
  unsigned char *salt = who == CKU_SO ? s->so_salt : s->user_salt;
  unsigned char *out = who == CKU_SO ? s->so_wrap : s->user_wrap;
  kdf_t *kdf = who == CKU_SO ? &s->so_kdf : &s->user_kdf;
  *kdf = kdf_default();
  CK_RV rv = random_bytes(salt, SALT_LEN);
  if (rv == CKR_OK) rv = seal_pin_key(pin, pinlen, salt, kdf, k);
  if (rv == CKR_OK) rv = seal_encrypt(k, wrap_aad(s, who, aad), 20, tkey, TOKEN_KEY_LEN, out);
  wipe(k, sizeof k);
  return rv;
}

CK_RV store_check_pin(slot_t *s, CK_USER_TYPE who, const unsigned char *pin, size_t pinlen,
                      unsigned char tkey[TOKEN_KEY_LEN]) {
  if (s->unreadable) return CKR_TOKEN_NOT_RECOGNIZED;
  if (!s->initialized) return who == CKU_SO ? CKR_TOKEN_NOT_RECOGNIZED : CKR_USER_PIN_NOT_INITIALIZED;
  if (who == CKU_USER && !s->user_set) return CKR_USER_PIN_NOT_INITIALIZED;
  unsigned char k[TOKEN_KEY_LEN], aad[20];
  CK_RV rv = seal_pin_key(pin, pinlen, who == CKU_SO ? s->so_salt : s->user_salt,
                          who == CKU_SO ? &s->so_kdf : &s->user_kdf, k);
  if (rv == CKR_OK) {
    rv = seal_decrypt(k, wrap_aad(s, who, aad), 20, who == CKU_SO ? s->so_wrap : s->user_wrap,
                      TOKEN_KEY_LEN + SEAL_OVERHEAD, tkey);
    if (rv == CKR_ENCRYPTED_DATA_INVALID) rv = CKR_PIN_INCORRECT;
  }
  wipe(k, sizeof k);
  return rv;
}

static unsigned *fails_of(slot_t *s, CK_USER_TYPE who) {
  return who == CKU_SO ? &s->so_fails : &s->user_fails;
}

/* Token lock held and token.meta just read: counts a failed login, or clears
 * the count after a good one. */
static CK_RV count_locked(slot_t *s, CK_USER_TYPE who, int good) {
  unsigned *fails = fails_of(s, who);
  unsigned next = good ? 0 : *fails + 1;
  if (next == *fails) return CKR_OK;
  *fails = next;
  CK_RV rv = save_meta(s);
  if (rv == CKR_OK) bump_gen(s);
  return rv;
}

/* Every PIN check that a caller could repeat to guess goes through here:
 * refused once PIN_TRIES guesses in a row failed, counted in token.meta under
 * the token lock (so other processes see it), and a PIN still on PBKDF2 is
 * rewrapped under scrypt once it is known to be right. */
CK_RV store_login_pin(slot_t *s, CK_USER_TYPE who, const unsigned char *pin, size_t pinlen,
                      unsigned char tkey[TOKEN_KEY_LEN]) {
  if (s->unreadable) return CKR_TOKEN_NOT_RECOGNIZED;
  if (!s->initialized) return who == CKU_SO ? CKR_TOKEN_NOT_RECOGNIZED : CKR_USER_PIN_NOT_INITIALIZED;
  int fd = lock_token(s);
  if (fd < 0) return CKR_DEVICE_ERROR;
  unsigned char id[16];
  memcpy(id, s->token_id, 16);
  CK_RV rv = load_meta(s);
  if (rv == CKR_OK && (!s->initialized || memcmp(id, s->token_id, 16) != 0)) rv = CKR_DEVICE_REMOVED;
  if (rv == CKR_OK && *fails_of(s, who) >= PIN_TRIES) rv = CKR_PIN_LOCKED;
  if (rv == CKR_OK) {
    rv = store_check_pin(s, who, pin, pinlen, tkey);
    if (rv == CKR_OK || rv == CKR_PIN_INCORRECT) {
      CK_RV counted = count_locked(s, who, rv == CKR_OK);
      if (counted != CKR_OK) rv = counted;
    }
  }
  int legacy = rv == CKR_OK && !(who == CKU_SO ? s->so_kdf : s->user_kdf).scrypt;
  if (legacy) {
    rv = wrap_for(s, who, pin, pinlen, tkey);
    if (rv == CKR_OK) rv = save_meta(s);
    if (rv == CKR_OK) bump_gen(s);
  }
  unlock_token(fd);
  if (rv != CKR_OK) wipe(tkey, TOKEN_KEY_LEN);
  return rv;
}

CK_FLAGS store_pin_flags(const slot_t *s) {
  CK_FLAGS f = 0;
  if (s->user_fails >= PIN_TRIES) f |= CKF_USER_PIN_LOCKED;
  else if (s->user_fails == PIN_TRIES - 1) f |= CKF_USER_PIN_FINAL_TRY;
  if (s->user_fails > 0 && s->user_fails < PIN_TRIES) f |= CKF_USER_PIN_COUNT_LOW;
  if (s->so_fails >= PIN_TRIES) f |= CKF_SO_PIN_LOCKED;
  else if (s->so_fails == PIN_TRIES - 1) f |= CKF_SO_PIN_FINAL_TRY;
  if (s->so_fails > 0 && s->so_fails < PIN_TRIES) f |= CKF_SO_PIN_COUNT_LOW;
  return f;
}

CK_RV store_set_pin(slot_t *s, CK_USER_TYPE who, const unsigned char *pin, size_t pinlen,
                    const unsigned char tkey[TOKEN_KEY_LEN]) {
  int fd = lock_token(s);
  if (fd < 0) return CKR_DEVICE_ERROR;
  /* re-read so a concurrent change of the other PIN is not overwritten */
  unsigned char id[16];
  memcpy(id, s->token_id, 16);
  CK_RV rv = load_meta(s);
  if (rv == CKR_OK && (!s->initialized || memcmp(id, s->token_id, 16) != 0)) rv = CKR_DEVICE_REMOVED;
  if (rv == CKR_OK) rv = wrap_for(s, who, pin, pinlen, tkey);
  if (rv == CKR_OK) {
    if (who == CKU_USER) s->user_set = 1;
    *fails_of(s, who) = 0;
    rv = save_meta(s);
  }
  if (rv == CKR_OK) bump_gen(s);
  unlock_token(fd);
  return rv;
}

static void erase_object_files(slot_t *s) {
  char p[4096];
  path_of(s, "objects", p, sizeof p);
  DIR *d = opendir(p);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l > 4 && !strcmp(e->d_name + l - 4, ".obj")) unlinkat(dirfd(d), e->d_name, 0);
  }
  closedir(d);
}

CK_RV store_init_token(slot_t *s, const unsigned char *pin, size_t pinlen, const unsigned char label[32]) {
  int fd = lock_token(s);
  if (fd < 0) return CKR_DEVICE_ERROR;
  unsigned char tkey[TOKEN_KEY_LEN];
  CK_RV rv = load_meta(s);
  if (rv == CKR_OK && s->initialized && s->so_fails >= PIN_TRIES) rv = CKR_PIN_LOCKED;
  if (rv == CKR_OK && s->initialized) {
    rv = store_check_pin(s, CKU_SO, pin, pinlen, tkey);
    if (rv == CKR_PIN_INCORRECT) count_locked(s, CKU_SO, 0);
  }
  if (rv == CKR_OK) {
    erase_object_files(s);
    drop_token_objects(s);
    forget_login(s);
    rv = random_bytes(s->token_id, 16);
  }
  if (rv == CKR_OK) rv = random_bytes(tkey, TOKEN_KEY_LEN);
  if (rv == CKR_OK) {
    memcpy(s->label, label, 32);
    s->user_set = 0;
    s->so_fails = s->user_fails = 0;
    rv = wrap_for(s, CKU_SO, pin, pinlen, tkey);
  }
  if (rv == CKR_OK) rv = save_meta(s);
  if (rv == CKR_OK) {
    s->initialized = 1;
    bump_gen(s);
  }
  wipe(tkey, sizeof tkey);
  unlock_token(fd);
  return rv;
}

/* ---- object files ----
 * "HSO1" | priv u8 | 3 zero bytes | plain_len u32 | plain | sealed_len u32 | sealed
 * sealed = AES-256-GCM(token key, AAD = token id || file id) of the attributes
 * that must not be readable on disk: all of them (except class/token/private)
 * for CKA_PRIVATE objects, and key values for every key. */

static int keep_plain(CK_ATTRIBUTE_TYPE t, void *arg) {
  const object_t *o = arg;
  if (t == CKA_CLASS || t == CKA_TOKEN || t == CKA_PRIVATE) return 1;
  return !obj_attr_sealed(o, t);
}

static int keep_sealed(CK_ATTRIBUTE_TYPE t, void *arg) { return !keep_plain(t, arg); }

static void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void obj_aad(const slot_t *s, const object_t *o, unsigned char aad[48]) {
  memcpy(aad, s->token_id, 16);
  memcpy(aad + 16, o->fid, 32);
}

static long long mtime_ns(const struct stat *st) {
  return (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

CK_RV store_write_object(slot_t *s, object_t *o) {
  if (!s->initialized) return CKR_TOKEN_NOT_RECOGNIZED;
  if (o->sealed) return CKR_USER_NOT_LOGGED_IN;
  if (!o->fid[0]) {
    unsigned char r[16];
    if (random_bytes(r, 16) != CKR_OK) return CKR_FUNCTION_FAILED;
    hex_encode(r, 16, o->fid);
  }
  unsigned char *plain = NULL, *sec = NULL, *file = NULL;
  size_t plen = 0, slen = 0;
  CK_RV rv = attrs_encode(&o->attrs, keep_plain, o, &plain, &plen);
  if (rv == CKR_OK) rv = attrs_encode(&o->attrs, keep_sealed, o, &sec, &slen);
  if (rv != CKR_OK) goto done;
  if (slen && !s->have_key) {
    rv = CKR_USER_NOT_LOGGED_IN;
    goto done;
  }
  size_t flen = 8 + 4 + plen + 4 + (slen ? slen + SEAL_OVERHEAD : 0);
  file = calloc(1, flen);
  if (!file) {
    rv = CKR_HOST_MEMORY;
    goto done;
  }
  memcpy(file, OBJ_MAGIC, 4);
  file[4] = (unsigned char)(o->priv ? 1 : 0);
  put32(file + 8, (uint32_t)plen);
  memcpy(file + 12, plain, plen);
  put32(file + 12 + plen, (uint32_t)(slen ? slen + SEAL_OVERHEAD : 0));
  if (slen) {
    unsigned char aad[48];
    obj_aad(s, o, aad);
    rv = seal_encrypt(s->tkey, aad, sizeof aad, sec, slen, file + 16 + plen);
    if (rv != CKR_OK) goto done;
  }
  char dir[4096], name[64];
  path_of(s, "objects", dir, sizeof dir);
  snprintf(name, sizeof name, "%s.obj", o->fid);
  int fd = lock_token(s);
  if (fd < 0) {
    rv = CKR_DEVICE_ERROR;
    goto done;
  }
  struct stat st;
  if (write_atomic(dir, name, file, flen, &st)) {
    rv = CKR_DEVICE_ERROR;
  } else {
    o->ino = st.st_ino;
    o->mtime_ns = mtime_ns(&st);
    bump_gen(s);
  }
  unlock_token(fd);
done:
  if (sec) wipe(sec, slen);
  free(sec);
  free(plain);
  free(file);
  return rv;
}

CK_RV store_delete_object(slot_t *s, object_t *o) {
  char p[4096];
  snprintf(p, sizeof p, "%s/objects/%s.obj", s->dir, o->fid);
  int fd = lock_token(s);
  if (fd < 0) return CKR_DEVICE_ERROR;
  CK_RV rv = (unlink(p) == 0 || errno == ENOENT) ? CKR_OK : CKR_DEVICE_ERROR;
  if (rv == CKR_OK) bump_gen(s);
  unlock_token(fd);
  return rv;
}

/* Fills o from its file. Sealed parts stay on disk without the token key. */
static CK_RV load_object(slot_t *s, object_t *o) {
  char p[4096];
  size_t n;
  struct stat st;
  snprintf(p, sizeof p, "%s/objects/%s.obj", s->dir, o->fid);
  unsigned char *b = read_file(p, &n, &st);
  if (!b) return CKR_DEVICE_ERROR;
  CK_RV rv = CKR_DEVICE_ERROR;
  attrs_t a = {0};
  int sealed = 0;
  if (n < 16 || memcmp(b, OBJ_MAGIC, 4)) goto done;
  size_t plen = get32(b + 8);
  if (plen > n - 16) goto done;
  size_t slen = get32(b + 12 + plen);
  if (slen > n - 16 - plen) goto done;
  if (attrs_decode(&a, b + 12, plen) != CKR_OK) goto done;
  if (slen) {
    if (!s->have_key) {
      sealed = 1;
    } else {
      unsigned char aad[48];
      unsigned char *sec = malloc(slen);
      if (!sec) goto done;
      obj_aad(s, o, aad);
      rv = seal_decrypt(s->tkey, aad, sizeof aad, b + 16 + plen, slen, sec);
      if (rv == CKR_OK) rv = attrs_decode(&a, sec, slen - SEAL_OVERHEAD);
      wipe(sec, slen);
      free(sec);
      if (rv != CKR_OK) {
        rv = CKR_DEVICE_ERROR;
        goto done;
      }
    }
  }
  attrs_free(&o->attrs);
  o->attrs = a;
  memset(&a, 0, sizeof a);
  if (o->pkey) {
    EVP_PKEY_free(o->pkey);
    o->pkey = NULL;
  }
  o->priv = b[4] != 0;
  o->sealed = sealed;
  o->token = 1;
  o->slot = s->id;
  o->ino = st.st_ino;
  o->mtime_ns = mtime_ns(&st);
  obj_sync_fields(o);
  rv = CKR_OK;
done:
  attrs_free(&a);
  free(b);
  return rv;
}

static void rescan(slot_t *s) {
  char p[4096];
  path_of(s, "objects", p, sizeof p);
  for (size_t i = 0; i < obj_span(); i++) {
    object_t *o = obj_at(i);
    if (o && o->token && o->slot == s->id) o->mark = 0;
  }
  DIR *d = opendir(p);
  int listed = d != NULL;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (!is_obj_name(e->d_name)) continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, 0)) continue;
    object_t *found = NULL;
    for (size_t i = 0; i < obj_span(); i++) {
      object_t *o = obj_at(i);
      if (o && o->token && o->slot == s->id && !memcmp(o->fid, e->d_name, 32)) {
        found = o;
        break;
      }
    }
    if (found) {
      found->mark = 1;
      if (found->ino != st.st_ino || found->mtime_ns != mtime_ns(&st)) load_object(s, found);
      continue;
    }
    object_t *o = obj_new();
    if (!o) break;
    memcpy(o->fid, e->d_name, 32);
    o->fid[32] = 0;
    o->mark = 1;
    if (load_object(s, o) != CKR_OK || obj_register(o) != CKR_OK) {
      obj_free(o);
      continue;
    }
  }
  if (d) closedir(d);
  /* a directory we could not read is not evidence that objects were deleted */
  for (size_t i = 0; listed && i < obj_span(); i++) {
    object_t *o = obj_at(i);
    if (o && o->token && o->slot == s->id && !o->mark) {
      obj_unregister(o);
      obj_free(o);
    }
  }
}

/* CKR_TOKEN_NOT_RECOGNIZED while token.meta cannot be read; it is read again
 * on every call until it can, so a restored file is picked up. */
CK_RV store_sync(slot_t *s) {
  unsigned long long g = read_gen(s);
  if (s->gen_known && g == s->gen && !s->unreadable) return CKR_OK;
  CK_RV rv = load_meta(s);
  if (s->initialized) rescan(s);
  s->gen = g;
  s->gen_known = 1;
  return rv;
}

void store_unseal_all(slot_t *s) {
  for (size_t i = 0; i < obj_span(); i++) {
    object_t *o = obj_at(i);
    if (o && o->token && o->slot == s->id && o->sealed) load_object(s, o);
  }
}

void store_seal_all(slot_t *s) {
  for (size_t i = 0; i < obj_span(); i++) {
    object_t *o = obj_at(i);
    if (!o || !o->token || o->slot != s->id) continue;
    int has_secret = o->priv || o->cls == CKO_PRIVATE_KEY || o->cls == CKO_SECRET_KEY;
    if (!has_secret) continue;
    obj_drop_secrets(o);
    o->sealed = 1;
  }
}
