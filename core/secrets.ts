/**
 * Redaction of secret environment values. A value is secret when it received the text of a
 * request's `secretVariables` (see `ServiceSpec.secretEnvironment`). Only the deploy workflow and
 * its activities see the real value, through payloads that the codec in lib/codec.ts encrypts.
 */
import type { StackSpec } from './model';

/** Replacement of a secret value in the database and in API responses. */
export const REDACTED = '***';

/** Returns a copy of `stack` with every secret environment value replaced by REDACTED. */
export function redactStack(stack: StackSpec): StackSpec {
  return {
    ...stack,
    services: stack.services.map((service) => {
      const secretKeys = service.secretEnvironment ?? [];
      if (secretKeys.length === 0) return service;
      const environment = { ...service.environment };
      for (const key of secretKeys) {
        if (Object.hasOwn(environment, key)) environment[key] = REDACTED;
      }
      return { ...service, environment };
    }),
  };
}
