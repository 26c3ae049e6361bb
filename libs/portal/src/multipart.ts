import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';

/** A form field (not a file) may be this long: CSRF tokens, a choice. */
const MAX_FIELD_BYTES = 4096;
const MAX_HEADER_BYTES = 8192;
const MAX_FIELDS = 20;

export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

/** The form ended without a file part (the fields before it are kept, for the CSRF check). */
export class NoFilePart extends MultipartError {
  constructor(readonly fields: Record<string, string>) {
    super('no file in the form');
    this.name = 'NoFilePart';
  }
}

export interface UploadedFile {
  field: string;
  filename: string;
  stream: Readable;
}

/** `multipart/form-data; boundary=…` → the boundary, or undefined. */
export function multipartBoundary(contentType: string | string[] | undefined): string | undefined {
  const v = Array.isArray(contentType) ? contentType[0] : contentType;
  if (!v || !/^\s*multipart\/form-data\s*;/i.test(v)) return undefined;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(v);
  return m ? (m[1] ?? m[2]) : undefined;
}

/**
 * Reads a `multipart/form-data` body as it arrives, for the portal's upload forms: the small fields
 * before the file (the CSRF token) are collected, then `onFile` is called with them and the file as
 * a stream that is fed with backpressure — the file is never held whole in memory. `onFile` checks
 * the fields before it reads a byte (throwing refuses the upload); once it settles, whatever the
 * body still holds is read and dropped. Parts after the file are ignored; a second file is refused.
 */
export async function streamMultipart<T>(
  source: AsyncIterable<Buffer | string>,
  boundary: string,
  onFile: (fields: Record<string, string>, file: UploadedFile) => Promise<T>,
): Promise<T> {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const headerEnd = Buffer.from('\r\n\r\n');
  const fields: Record<string, string> = {};
  // A CRLF before the first boundary, so every boundary reads as "\r\n--boundary".
  let buf: Buffer = Buffer.from('\r\n');
  let state: 'preamble' | 'after' | 'headers' | 'field' | 'file' | 'done' = 'preamble';
  let fieldName = '';
  let out: PassThrough | undefined;
  let result: Promise<T> | undefined;
  let settled = false;
  let failure: unknown;

  const write = async (chunk: Buffer) => {
    if (!out || settled || chunk.length === 0) return;
    if (!out.write(chunk)) {
      const settledSignal = result!.then(
        () => undefined,
        () => undefined,
      );
      await Promise.race([once(out, 'drain'), settledSignal]);
    }
  };

  const step = async (): Promise<boolean> => {
    switch (state) {
      case 'preamble': {
        const i = buf.indexOf(delimiter);
        if (i < 0) {
          if (buf.length > MAX_HEADER_BYTES) throw new MultipartError('no boundary in the body');
          return false;
        }
        buf = buf.subarray(i + delimiter.length);
        state = 'after';
        return true;
      }
      case 'after': {
        if (buf.length < 2) return false;
        const two = buf.subarray(0, 2).toString('latin1');
        if (two === '--') {
          state = 'done';
          return false;
        }
        if (two !== '\r\n') throw new MultipartError('malformed boundary line');
        buf = buf.subarray(2);
        state = 'headers';
        return true;
      }
      case 'headers': {
        const i = buf.indexOf(headerEnd);
        if (i < 0) {
          if (buf.length > MAX_HEADER_BYTES) throw new MultipartError('part headers too long');
          return false;
        }
        const headers = buf.subarray(0, i).toString('utf8');
        buf = buf.subarray(i + headerEnd.length);
        const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(headers)?.[1] ?? '';
        const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
        const filename = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
        if (name === undefined) throw new MultipartError('a part without a name');
        if (filename !== undefined) {
          if (out) throw new MultipartError('only one file per upload');
          out = new PassThrough({ highWaterMark: 256 * 1024 });
          result = onFile({ ...fields }, { field: name, filename, stream: out });
          result.then(
            () => (settled = true),
            (e) => {
              settled = true;
              failure = e;
            },
          );
          state = 'file';
        } else {
          if (Object.keys(fields).length >= MAX_FIELDS) throw new MultipartError('too many fields');
          fieldName = name;
          state = 'field';
        }
        return true;
      }
      case 'field': {
        const i = buf.indexOf(delimiter);
        if (i < 0) {
          if (buf.length > MAX_FIELD_BYTES + delimiter.length)
            throw new MultipartError('a form field is too long');
          return false;
        }
        fields[fieldName] = buf.subarray(0, i).toString('utf8');
        buf = buf.subarray(i + delimiter.length);
        state = 'after';
        return true;
      }
      case 'file': {
        const i = buf.indexOf(delimiter);
        if (i < 0) {
          // Keep what could be the start of the delimiter for the next chunk.
          const keep = delimiter.length - 1;
          if (buf.length > keep) {
            const part = buf.subarray(0, buf.length - keep);
            buf = buf.subarray(buf.length - keep);
            await write(part);
          }
          return false;
        }
        await write(buf.subarray(0, i));
        buf = buf.subarray(i + delimiter.length);
        out!.end();
        state = 'after';
        return true;
      }
      default:
        return false;
    }
  };

  try {
    for await (const chunk of source) {
      if ((state as string) === 'done' || settled) continue; // drain: the answer is decided
      buf = Buffer.concat([buf, typeof chunk === 'string' ? Buffer.from(chunk) : chunk]);
      while (await step());
    }
  } catch (e) {
    out?.destroy(e as Error);
    if (result) await result.catch(() => undefined);
    throw e;
  }
  if (!result) throw new NoFilePart({ ...fields });
  if ((state as string) !== 'done' && !settled) {
    out!.destroy(new MultipartError('the body ended before the file did'));
  }
  const value = await result;
  if (failure) throw failure;
  return value;
}
