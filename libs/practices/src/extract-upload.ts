import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

/** Streams an extract file to the centre (`POST /api/practices/:ods/extracts`) and returns its report. */
export async function uploadExtract(opts: {
  url: string;
  practiceOds: string;
  token: string;
  file: string;
}): Promise<{ status: number; body: unknown }> {
  const base = opts.url.replace(/\/+$/, '');
  const url = /\/extracts$/.test(base) ? base : `${base}/api/practices/${opts.practiceOds}/extracts`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${opts.token}` },
    body: Readable.toWeb(createReadStream(opts.file)) as unknown as RequestInit['body'],
    duplex: 'half',
  } as RequestInit & { duplex: 'half' });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body };
}
