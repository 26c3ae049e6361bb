import { Readable } from 'node:stream';
import fc from 'fast-check';
import { multipartBoundary, NoFilePart, streamMultipart } from './multipart';

const B = '----x7Boundary';
const CRLF = '\r\n';

function body(fields: Record<string, string>, file?: { name: string; content: Buffer }): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields))
    parts.push(
      Buffer.from(`--${B}${CRLF}Content-Disposition: form-data; name="${k}"${CRLF}${CRLF}${v}${CRLF}`),
    );
  if (file)
    parts.push(
      Buffer.from(
        `--${B}${CRLF}Content-Disposition: form-data; name="file"; filename="${file.name}"${CRLF}Content-Type: application/octet-stream${CRLF}${CRLF}`,
      ),
      file.content,
      Buffer.from(CRLF),
    );
  parts.push(Buffer.from(`--${B}--${CRLF}`));
  return Buffer.concat(parts);
}

/** The body cut into chunks at the given sizes (cycled). */
function chunked(buf: Buffer, sizes: number[]): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0, k = 0; i < buf.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length]);
    chunks.push(buf.subarray(i, i + n));
    i += n;
  }
  return Readable.from(chunks);
}

async function read(stream: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of stream) out.push(c as Buffer);
  return Buffer.concat(out);
}

describe('streamMultipart', () => {
  it('reads the boundary of a multipart content type only', () => {
    expect(multipartBoundary(`multipart/form-data; boundary=${B}`)).toBe(B);
    expect(multipartBoundary(`multipart/form-data; boundary="${B}"`)).toBe(B);
    expect(multipartBoundary('application/x-ndjson')).toBeUndefined();
    expect(multipartBoundary(undefined)).toBeUndefined();
  });

  it('hands over the fields before the file, and the file byte for byte, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 8 }),
        async (bytes, sizes) => {
          // Content that looks like the delimiter's start must pass through untouched.
          const content = Buffer.concat([Buffer.from(bytes), Buffer.from(`${CRLF}--${B.slice(0, 5)}`)]);
          const got = await streamMultipart(
            chunked(body({ _csrf: 'token-1' }, { name: 'e.ndjson', content }), sizes),
            B,
            async (fields, file) => ({ fields, name: file.filename, data: await read(file.stream) }),
          );
          expect(got.fields).toEqual({ _csrf: 'token-1' });
          expect(got.name).toBe('e.ndjson');
          expect(got.data.equals(content)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stops feeding a file whose reader has answered, and drains the rest of the body', async () => {
    const content = Buffer.alloc(2 * 1024 * 1024, 'a');
    const got = await streamMultipart(
      chunked(body({ _csrf: 't' }, { name: 'big', content }), [65536]),
      B,
      async () => 'refused early',
    );
    expect(got).toBe('refused early');
  });

  it('a form without a file part says so, with its fields (for the token check)', async () => {
    await expect(streamMultipart(chunked(body({ _csrf: 't' }), [7]), B, async () => 1)).rejects.toEqual(
      new NoFilePart({ _csrf: 't' }),
    );
    const err = await streamMultipart(chunked(body({ _csrf: 't' }), [7]), B, async () => 1).catch((e) => e);
    expect(err).toBeInstanceOf(NoFilePart);
    expect((err as NoFilePart).fields).toEqual({ _csrf: 't' });
  });

  it('a body cut off inside the file fails the reader rather than ending the file short', async () => {
    const whole = body({ _csrf: 't' }, { name: 'f', content: Buffer.alloc(5000, 'b') });
    const cut = Readable.from([whole.subarray(0, 3000)]);
    await expect(streamMultipart(cut, B, async (_f, file) => read(file.stream))).rejects.toThrow(
      /ended before the file/,
    );
  });
});
