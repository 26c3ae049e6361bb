import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@custodian/core';
import { ChangeFeed, FeedCache } from '@custodian/database';
import type { CatalogDto } from './dto';
import { tierColumns, type FieldClassification } from './tiers';

export interface Catalog {
  datasets: {
    id: string;
    title: string;
    description: string;
    fields: { name: string; classification: FieldClassification; description: string }[];
  }[];
  dimensions: { name: string; description: string }[];
}

/** The whole catalogue as one JSON value: datasets with their fields, and the dimensions, in order. */
const CATALOG_SQL = `SELECT json_build_object(
  'datasets', coalesce((SELECT json_agg(json_build_object('id', d.id, 'title', d.title, 'description', d.description,
      'fields', coalesce((SELECT json_agg(json_build_object('name', f.name, 'classification', f.classification,
                                                            'description', f.description) ORDER BY f.position)
                            FROM catalog_fields f WHERE f.dataset = d.id), '[]'))
      ORDER BY d.position) FROM catalog_datasets d), '[]'),
  'dimensions', coalesce((SELECT json_agg(json_build_object('name', m.name, 'description', m.description)
                                  ORDER BY m.position) FROM catalog_dimensions m), '[]')) AS catalog`;

/** The dataset catalogue (tables catalog_datasets, catalog_fields, catalog_dimensions). */
@Injectable()
export class CatalogService {
  /**
   * `GET /api/datasets`'s body, written once and kept for `CACHE_SECONDS` while the change feed
   * listens: any committed change to the catalogue's tables (a migration, SQL by hand) announces
   * itself on `custodian_catalog` and empties it (no library writes them at run time).
   */
  private readonly body: FeedCache<Buffer>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    feed: ChangeFeed,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.body = new FeedCache(feed, config.cacheSeconds * 1000, 1);
    feed.on('custodian_catalog', () => this.body.clear());
  }

  async load(em: EntityManager = this.db.manager): Promise<Catalog> {
    const [row] = await em.query(CATALOG_SQL);
    return row.catalog as Catalog;
  }

  /** The catalogue as `GET /api/datasets` answers it (CatalogDto), encoded as UTF-8 JSON. */
  async responseBody(): Promise<Buffer> {
    const hit = this.body.get('catalog');
    if (hit) return hit;
    const begun = this.body.begin();
    const body = Buffer.from(JSON.stringify(toCatalogResponse(await this.load())), 'utf8');
    this.body.set('catalog', body, begun);
    return body;
  }
}

export function toCatalogResponse(c: Catalog): CatalogDto {
  return {
    datasets: c.datasets.map((d) => {
      const names = d.fields.map((f) => f.name);
      return {
        ...d,
        columnsByTier: {
          identifiable: tierColumns('identifiable', names),
          pseudonymised: tierColumns('pseudonymised', names),
          anonymised: tierColumns('anonymised', names),
          aggregate: tierColumns('aggregate', names),
        },
      };
    }),
    dimensions: c.dimensions,
  };
}
