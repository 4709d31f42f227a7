import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';

/** One GET to the RA as a page reads it: the answer, or the refusal, and a way to ask again. */
export function useAnswer<T>(path: string | null): { data: T | null; error: unknown; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [round, setRound] = useState(0);
  useEffect(() => {
    if (!path) return;
    setError(null);
    api<T>('GET', path).then(setData, setError);
  }, [path, round]);
  return { data, error, reload: () => setRound((n) => n + 1) };
}
