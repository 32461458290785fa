/** Repository functions for the host registry. */
import { asc, eq, gt } from 'drizzle-orm';
import type { DockerEndpoint, HostRecord } from '../core/model';
import type { Database } from './client';
import { HostExistsError, HostNotFoundError } from './errors';
import { hosts } from './schema';

/** A registered host as stored, with its timestamps. */
export type Host = typeof hosts.$inferSelect;

/** Fields for a new host; the optional ones take the column defaults. */
export interface NewHost {
  name: string;
  docker: DockerEndpoint;
  address: string;
  /** Default: `default`. */
  datacenter?: string;
  /** Default: `{}`. */
  labels?: Record<string, string>;
  /** Default: `missing`. */
  imagePull?: HostRecord['imagePull'];
  /** Default: `active`. */
  status?: HostRecord['status'];
}

/**
 * Registers a host.
 *
 * @throws HostExistsError when a host with the same name is registered.
 */
export async function createHost(db: Database, host: NewHost): Promise<Host> {
  const rows = await db.insert(hosts).values(host).onConflictDoNothing().returning();
  if (rows.length === 0) throw new HostExistsError(host.name);
  return rows[0];
}

/** Lists every registered host, sorted by name. */
export async function listHosts(db: Database): Promise<Host[]> {
  return db.select().from(hosts).orderBy(asc(hosts.name));
}

export interface Page<T> {
  items: T[];
  /** Pass as `after` for the next page; absent on the last page. */
  nextCursor?: string;
}

/**
 * Lists hosts sorted by name, `limit` at a time, starting after the host named `after`. A
 * host registered while a client pages through appears on a later page or not at all, and
 * shifts no other host.
 */
export async function listHostsPage(
  db: Database,
  options: { limit: number; after?: string },
): Promise<Page<Host>> {
  const rows = await db
    .select()
    .from(hosts)
    .where(options.after === undefined ? undefined : gt(hosts.name, options.after))
    .orderBy(asc(hosts.name))
    .limit(options.limit + 1);
  const items = rows.slice(0, options.limit);
  const nextCursor = rows.length > options.limit ? items[items.length - 1]!.name : undefined;
  return { items, nextCursor };
}

/** Returns the host named `name`, or undefined when none is registered. */
export async function getHost(db: Database, name: string): Promise<Host | undefined> {
  const rows = await db.select().from(hosts).where(eq(hosts.name, name));
  return rows[0];
}

/** Deletes a host. Returns false when no host had that name. */
export async function deleteHost(db: Database, name: string): Promise<boolean> {
  const rows = await db.delete(hosts).where(eq(hosts.name, name)).returning({ name: hosts.name });
  return rows.length > 0;
}

/**
 * Marks a host active or inactive.
 *
 * @throws HostNotFoundError when no host has that name.
 */
export async function updateHostStatus(
  db: Database,
  name: string,
  status: HostRecord['status'],
): Promise<Host> {
  const rows = await db
    .update(hosts)
    .set({ status, updatedAt: new Date() })
    .where(eq(hosts.name, name))
    .returning();
  if (rows.length === 0) throw new HostNotFoundError(name);
  return rows[0];
}

/** Converts a stored host to the model type the planner and activities use. */
export function toHostRecord(host: Host): HostRecord {
  const { createdAt: _created, updatedAt: _updated, ...record } = host;
  return record;
}
