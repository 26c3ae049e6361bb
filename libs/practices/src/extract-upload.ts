import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

/** Streams an extract file to the centre (`POST /api/practices/:ods/extracts`) and returns its report. */
export async function uploadExtract(opts: {
  url: string;
  practiceOds: string;
  token: string;
  file: string;
}): Promise<{ status: number; body: unknown }> {
  // The service's address, or its API's (README gives `…/api`: that was posted to `/api/api/…`).
  const base = opts.url.replace(/\/+$/, '');
  const url = /\/extracts$/.test(base)
    ? base
    : `${base.replace(/\/api$/, '')}/api/practices/${opts.practiceOds}/extracts`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${opts.token}` },
      body: Readable.toWeb(createReadStream(opts.file)) as unknown as RequestInit['body'],
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
  } catch (e) {
    // "fetch failed" alone; the cause says what (a refused connection, an unknown host).
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`upload to ${new URL(url).origin} failed: ${cause?.code ?? cause?.message ?? String(e)}`);
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: not the service's API (a portal page, a proxy's error page) — said, not dumped.
    body = `not a JSON answer (${res.headers.get('content-type') ?? 'no content type'}, ${text.length} bytes): is --upload the service's address?`;
  }
  return { status: res.status, body };
}
