export async function fileBytes(input: HTMLInputElement | null): Promise<Uint8Array | null> {
  const file = input?.files?.[0];
  return file ? new Uint8Array(await file.arrayBuffer()) : null;
}
