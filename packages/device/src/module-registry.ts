import { isMainThread } from 'node:worker_threads';
import graphene from 'graphene-pk11';
import pkcs11 from 'pkcs11js';

interface Entry {
  module: graphene.Module;
  users: number;
}

/**
 * A PKCS#11 library is initialised once per process however many times it is loaded, and C_Finalize
 * ends it for every user; so devices share one loaded module per path and the last one out finalises.
 */
const loaded = new Map<string, Entry>();

function initialize(module: graphene.Module): void {
  // Async pkcs11js calls run on libuv worker threads, so the library must do its own locking.
  module.initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
}

export function acquireModule(path: string): graphene.Module {
  let entry = loaded.get(path);
  if (!entry) {
    const module = graphene.Module.load(path);
    initialize(module);
    entry = { module, users: 0 };
    loaded.set(path, entry);
  }
  entry.users++;
  return entry.module;
}

/** After C_Finalize behind our back (CKR_CRYPTOKI_NOT_INITIALIZED) the same library must be initialised again. */
export function reinitializeModule(path: string): void {
  const entry = loaded.get(path);
  if (entry) initialize(entry.module);
}

export function releaseModule(path: string): void {
  const entry = loaded.get(path);
  if (!entry) return;
  entry.users--;
  if (entry.users > 0) return;
  loaded.delete(path);
  // This map is per thread but the library is per process: a worker thread finalising it would end the
  // sessions of every other thread, so only the main thread does.
  if (isMainThread) {
    try {
      entry.module.finalize();
    } catch {
      // Already finalised or the device is gone: nothing left to release.
    }
  }
  entry.module.close();
}
