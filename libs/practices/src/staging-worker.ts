import { parentPort } from 'node:worker_threads';
import { parseBlock } from './staging-block';

/**
 * The intake's parse thread (see `ParseThread` in staging-rows.ts): parses the blocks of lines it
 * is sent and answers with their staging rows. Loads only the parser, never the application.
 */
export interface ParseRequest {
  id: number;
  bytes: Uint8Array;
  firstLine: number;
  ods: string;
  today: string;
  received?: string;
}

parentPort?.on('message', (m: ParseRequest) => {
  try {
    parentPort!.postMessage({
      id: m.id,
      result: parseBlock(m.bytes, m.firstLine, m.ods, m.today, m.received),
    });
  } catch (e) {
    // parseBlock does not throw on any input; this is for a bug, reported without the data.
    parentPort!.postMessage({ id: m.id, error: e instanceof Error ? e.name : 'Error' });
  }
});
