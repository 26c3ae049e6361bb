import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { QueryRunner } from 'typeorm';
import type { SpooledBody } from '@custodian/core';
import type { DroppedFields } from '../fhir-spec';
import { RejectionTally } from '../rejections';
import { ParseThread, STAGING_COLUMNS, StagingRows, StreamStats } from '../staging-rows';

/**
 * The upload stage: the spooled body parsed and validated line by line (on the parse thread where
 * there is one) and COPY'd into the transaction's TEMP staging table `stg`, one row per accepted
 * line (`kind` P: Patient, E: clinical entry, O: objection). Returns what the lines came to.
 */
export async function stageExtract(
  qr: QueryRunner,
  ods: string,
  today: string,
  spooled: SpooledBody,
  parseThread: ParseThread | undefined,
): Promise<StreamStats> {
  await qr.manager.query(`
    CREATE TEMP TABLE stg (
      line int NOT NULL, kind char(1) NOT NULL, id varchar(64) NOT NULL, subject varchar(64),
      nhs_number char(10), birth_date date, sex char(1), postcode varchar(8), ethnicity char(1),
      resource_type varchar(12), code_system varchar(8), code varchar(20), event_date date,
      value varchar(64), obj_type varchar(5), obj_action varchar(8), obj_at timestamptz,
      shared_key boolean, dropped text
    ) ON COMMIT DROP`);
  const stats: StreamStats = {
    lines: 0,
    rejected: new RejectionTally(),
    unsupported: 0,
    retracted: 0,
    byField: Object.create(null) as DroppedFields,
  };
  const client = (qr as unknown as { databaseConnection: PoolClient }).databaseConnection;
  const copy = client.query(copyFrom(`COPY stg (${STAGING_COLUMNS}) FROM STDIN`));
  await pipeline(spooled.open(), new StagingRows(ods, today, stats, parseThread), copy);
  return stats;
}
