import type { Readable } from 'node:stream';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { agreementInForce, releaseVersionInForce } from '@custodian/bids';
import { ChangeFeed } from '@custodian/database';

/** How often open downloads re-check that their agreement is still in force (expiry has no event). */
export const DOWNLOAD_CHECK_MS = 1_000;

/**
 * A release's files may be read: downloadable, not destroyed, and its bid active with an agreement
 * in force by today's UTC date. `$1` is an array of release ids; the ids still readable come back.
 */
/** The agreement version a release `r` was made under (releases from before amendments: 1). */
export const RELEASE_AGREEMENT_VERSION = `coalesce((r.spec->>'agreementVersion')::int, 1)`;

export const DOWNLOADABLE_RELEASES_SQL = `
  SELECT r.id FROM releases r
   WHERE r.id = ANY($1::uuid[]) AND r.downloadable AND r.destroyed_at IS NULL
     AND ${agreementInForce('r.bid_id')}
     -- made under the version in force (or one whose releases it keeps: only the term changed): a
     -- superseded version's terms (recipients, fields) are not (probe 23: a recipient an amendment
     -- took off kept downloading)
     AND ${releaseVersionInForce(RELEASE_AGREEMENT_VERSION, 'r.bid_id')}`;

interface OpenDownload {
  releaseId: string;
  bidId: string;
  stream: Readable;
}

/**
 * Open downloads, cut the moment their agreement is no longer in force (SPEC §5: "downloads stop at
 * once"). A file handle opened while the agreement was in force would otherwise keep streaming
 * after a revocation or expiry, and even after the file was deleted. Every open download is
 * re-checked (one query for all of them):
 * - every DOWNLOAD_CHECK_MS while any is open (an expiry is a date passing, with no event);
 * - when any process commits a change to bids or agreements (the `custodian_bids` notification):
 *   a revocation in another process cuts the streams here within a round trip;
 * - when this process commits (its own revocations, before the notification arrives);
 * - when the release module destroys a bid's files (`closeBid`).
 * A check that fails (the database unreachable) cuts every open download: fail closed.
 */
@Injectable()
export class DownloadGuard implements OnApplicationShutdown {
  private readonly logger = new Logger('DownloadGuard');
  private readonly open = new Set<OpenDownload>();
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;
  private again = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly feed: ChangeFeed,
  ) {
    feed.on('custodian_bids', () => this.recheck());
    feed.onLocalCommit(() => {
      if (this.open.size) this.recheck();
    });
  }

  /** Watches `stream` until it closes: destroyed (the response cut) when the agreement ends. */
  watch(releaseId: string, bidId: string, stream: Readable): void {
    const entry: OpenDownload = { releaseId, bidId, stream };
    this.open.add(entry);
    this.feed.listen();
    stream.once('close', () => {
      this.open.delete(entry);
      if (!this.open.size) this.stopTimer();
    });
    this.timer ??= setInterval(() => this.recheck(), DOWNLOAD_CHECK_MS).unref();
  }

  /** Cuts every open download of the bid's releases now (destruction). */
  closeBid(bidId: string): number {
    let n = 0;
    for (const d of this.open) if (d.bidId === bidId) n += this.cut(d, 'destroyed');
    return n;
  }

  get openCount(): number {
    return this.open.size;
  }

  /** Re-checks every open download (coalesced: one query at a time, one more if asked meanwhile). */
  recheck(): void {
    if (!this.open.size) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = this.checkAll().finally(() => {
      this.checking = undefined;
      if (this.again) {
        this.again = false;
        this.recheck();
      }
    });
  }

  private async checkAll(): Promise<void> {
    const entries = [...this.open];
    const ids = [...new Set(entries.map((d) => d.releaseId))];
    let allowed: Set<string>;
    try {
      const rows: { id: string }[] = await this.db.query(DOWNLOADABLE_RELEASES_SQL, [ids]);
      allowed = new Set(rows.map((r) => r.id));
    } catch (err) {
      // Unable to tell whether the agreement is in force: the downloads stop (fail closed).
      this.logger.warn({ err: { message: (err as Error).message } }, 'download check failed');
      allowed = new Set();
    }
    let cut = 0;
    for (const d of entries) if (!allowed.has(d.releaseId)) cut += this.cut(d, 'not in force');
    if (cut) this.logger.log({ cut }, 'downloads cut: the agreement is no longer in force');
  }

  private cut(d: OpenDownload, why: string): number {
    if (!this.open.delete(d)) return 0;
    if (!this.open.size) this.stopTimer();
    d.stream.destroy(new Error(`download stopped: agreement ${why}`));
    return 1;
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  onApplicationShutdown(): void {
    this.stopTimer();
  }
}
