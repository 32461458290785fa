/**
 * drizzle-kit settings: `npm run db:generate` writes SQL migrations for changes in
 * db/schema.ts to db/migrations, and db/client.ts applies them at startup.
 */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.ts',
  out: './db/migrations',
});
