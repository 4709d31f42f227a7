// pkcs11js reads and fills these Buffers (and templates holding them) on a libuv worker thread; holding
// them here keeps them from being collected before the call settles.
const inFlight = new Set<unknown[]>();

/** Awaits a pkcs11js async call while keeping the buffers it works on reachable. */
export async function settle<T>(call: Promise<T>, buffers: unknown[]): Promise<T> {
  inFlight.add(buffers);
  try {
    return await call;
  } finally {
    inFlight.delete(buffers);
  }
}
