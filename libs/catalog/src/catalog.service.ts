import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
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

/** The dataset catalogue (tables catalog_datasets, catalog_fields, catalog_dimensions). */
@Injectable()
export class CatalogService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async load(em: EntityManager = this.db.manager): Promise<Catalog> {
    const datasets: { id: string; title: string; description: string }[] = await em.query(
      'SELECT id, title, description FROM catalog_datasets ORDER BY position',
    );
    const fields: {
      dataset: string;
      name: string;
      classification: FieldClassification;
      description: string;
    }[] = await em.query(
      'SELECT dataset, name, classification, description FROM catalog_fields ORDER BY dataset, position',
    );
    const dimensions: { name: string; description: string }[] = await em.query(
      'SELECT name, description FROM catalog_dimensions ORDER BY position',
    );
    return {
      datasets: datasets.map((d) => ({
        ...d,
        fields: fields
          .filter((f) => f.dataset === d.id)
          .map(({ name, classification, description }) => ({ name, classification, description })),
      })),
      dimensions,
    };
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
