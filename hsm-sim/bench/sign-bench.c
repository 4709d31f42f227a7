/* Sign-rate benchmark: C_SignInit + C_Sign (SM2-with-SM3) in 1 and N threads,
 * each thread on its own session. Build: make -C hsm-sim bench
 * Run:   HSMSIM_DIR=$(mktemp -d) hsm-sim/build/sign-bench [seconds] [threads] */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/pkcs11.h"

static CK_FUNCTION_LIST *f;
static CK_OBJECT_HANDLE key;
static double seconds = 3;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void *worker(void *arg) {
  long *count = arg;
  CK_SESSION_HANDLE s;
  if (f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK) return NULL;
  CK_MECHANISM m = {0x80008100UL, NULL, 0};
  unsigned char msg[20] = {0}, sig[80];
  double end = now() + seconds;
  long n = 0;
  while (now() < end) {
    for (int i = 0; i < 16; i++) {
      CK_ULONG sl = sizeof sig;
      if (f->C_SignInit(s, &m, key) != CKR_OK || f->C_Sign(s, msg, sizeof msg, sig, &sl) != CKR_OK) {
        fprintf(stderr, "sign failed\n");
        exit(1);
      }
      n++;
    }
  }
  *count = n;
  f->C_CloseSession(s);
  return NULL;
}

static double run(int threads) {
  pthread_t t[16];
  long c[16] = {0};
  double t0 = now();
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, &c[i]);
  long total = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    total += c[i];
  }
  return total / (now() - t0);
}

int main(int argc, char **argv) {
  const char *lib = getenv("HSMSIM_LIB") ? getenv("HSMSIM_LIB") : "hsm-sim/build/libhsm-sim.so";
  if (argc > 1) seconds = atof(argv[1]);
  int threads = argc > 2 ? atoi(argv[2]) : 2;
  if (threads < 1 || threads > 16) threads = 2;
  void *h = dlopen(lib, RTLD_NOW);
  if (!h) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  CK_RV (*gfl)(CK_FUNCTION_LIST **) = (CK_RV(*)(CK_FUNCTION_LIST **))dlsym(h, "C_GetFunctionList");
  CK_C_INITIALIZE_ARGS ia = {0};
  ia.flags = CKF_OS_LOCKING_OK;
  unsigned char label[32];
  memset(label, ' ', 32);
  CK_SESSION_HANDLE s;
  CK_OBJECT_HANDLE pub;
  CK_MECHANISM gen = {0x80008001UL, NULL, 0};
  CK_BBOOL no = CK_FALSE;
  CK_ATTRIBUTE tp[] = {{CKA_TOKEN, &no, 1}}, tk[] = {{CKA_TOKEN, &no, 1}, {CKA_PRIVATE, &no, 1}};
  if (gfl(&f) != CKR_OK || f->C_Initialize(&ia) != CKR_OK ||
      f->C_InitToken(0, (CK_UTF8CHAR_PTR) "sopin123", 8, label) != CKR_OK ||
      f->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) != CKR_OK ||
      f->C_GenerateKeyPair(s, &gen, tp, 1, tk, 2, &pub, &key) != CKR_OK) {
    fprintf(stderr, "setup failed\n");
    return 1;
  }
  printf("1 thread:  %.0f sign/s\n", run(1));
  printf("%d threads: %.0f sign/s\n", threads, run(threads));
  f->C_Finalize(NULL);
  return 0;
}
