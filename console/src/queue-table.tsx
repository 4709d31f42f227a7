import type { ComponentChild } from 'preact';
import { type MessageKey, useT } from './i18n.ts';

/** A work queue: loading, empty (saying so), or a table of rows under the given column headings. */
export function QueueTable<T>({
  items,
  empty,
  columns,
  row,
}: {
  items: T[] | null;
  empty: MessageKey;
  /** Column headings; '#' for the number, '' for the actions column. */
  columns: Array<MessageKey | '#' | ''>;
  row: (item: T) => ComponentChild;
}) {
  const { t } = useT();
  if (items === null) return <p>{t('loading')}</p>;
  if (items.length === 0) return <p>{t(empty)}</p>;
  return (
    <table>
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column}>{column === '#' || column === '' ? column : t(column)}</th>
          ))}
        </tr>
      </thead>
      <tbody>{items.map(row)}</tbody>
    </table>
  );
}
