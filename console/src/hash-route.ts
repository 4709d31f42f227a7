import { useEffect, useState } from 'preact/hooks';

/** The page part of the location hash and its query (`#/holds?issuerId=…&serial=…`). */
export interface HashRoute {
  path: string;
  query: URLSearchParams;
}

function current(): HashRoute {
  const [path = '', query = ''] = location.hash.split('?');
  return { path, query: new URLSearchParams(query) };
}

export function useHashRoute(): HashRoute {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const changed = () => setRoute(current());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

/** A link to a page about one certificate. */
export const certificateHref = (path: string, issuerId: string, serial: string) =>
  `${path}?${new URLSearchParams({ issuerId, serial })}`;
