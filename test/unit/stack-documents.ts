/** Builders for small ItemList documents used by the parser tests. */
import { expect } from 'vitest';
import type { ParseResult, StackIssue } from '../../core/model';

export type Json = Record<string, unknown>;

/** Returns a SoftwareApplication item with the required fields and `extra` merged in. */
export function item(name: string, position: number, extra: Json = {}): Json {
  const image = 'graphium/services:lab';
  return { '@type': 'SoftwareApplication', position, name, image, ...extra };
}

/** Returns an ItemList document containing `items`, with `extra` merged into the stack. */
export function stackOf(items: unknown[], extra: Json = {}): Json {
  return {
    '@context': 'https://schema.org',
    '@type': 'ItemList',
    name: 'Test Stack',
    itemListElement: items,
    ...extra,
  };
}

/** Asserts that `issues` has one at `path` whose message contains `word`. */
export function expectIssue(issues: StackIssue[], path: string, word: string): void {
  expect(issues).toContainEqual({ path, message: expect.stringContaining(word) });
}

/** Asserts that `issues` has nothing at `path`. */
export function expectNoIssue(issues: StackIssue[], path: string): void {
  expect(issues.filter((issue) => issue.path === path)).toEqual([]);
}

/** Returns the parsed stack, failing the test with the errors when there is none. */
export function stackFrom(result: ParseResult) {
  expect(result.errors).toEqual([]);
  if (!result.stack) throw new Error('parseStack returned no stack');
  return result.stack;
}
