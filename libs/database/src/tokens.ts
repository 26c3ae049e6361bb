/** The connection string of the database's owner (migrations, pg-boss); the app role's own pool is TypeORM's. */
export const DATABASE_OWNER_URL = Symbol('DATABASE_OWNER_URL');
