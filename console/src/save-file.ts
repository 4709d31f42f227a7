/** Hands the browser bytes to save as a file, through a link clicked on the user's behalf. */
export function save(name: string, type: string, content: BlobPart) {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([content], { type }));
  link.download = name;
  link.click();
  URL.revokeObjectURL(link.href);
}
