import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WorkflowRef } from '../../api/deployer';
import type { StackSpec } from '../../core/model';
import { parseStack } from '../../core/parse';
import { REDACTED, redactStack } from '../../core/secrets';
import type { DatabaseHandle } from '../../db/client';
import { getDeployment } from '../../db/repository';
import { PGLITE_START_TIMEOUT_MS, hostBody, openTestDatabase, resetApi, type TestApi } from './api-helpers';

const SECRET = 'pa$$-w0rd-that-must-not-leak';

function document(environment: Record<string, string>) {
  return {
    '@context': 'https://schema.org',
    '@type': 'ItemList',
    name: 'Secret App',
    placement: 'manual',
    itemListElement: [
      {
        '@type': 'SoftwareApplication',
        position: 1,
        name: 'db',
        image: 'postgres:16',
        targetHost: 'host1',
        environment,
      },
    ],
  };
}

const ENVIRONMENT = {
  POSTGRES_PASSWORD: '${DB_PASSWORD}',
  DATABASE_URL: 'postgres://app:${DB_PASSWORD}@db/app',
  POSTGRES_USER: '${DB_USER}',
  PLAIN: 'no placeholder',
};

describe('parseStack with secretVariables', () => {
  it('fills secret placeholders and lists the keys that received them', () => {
    const result = parseStack(document(ENVIRONMENT), {
      variables: { DB_USER: 'app' },
      secretVariables: { DB_PASSWORD: SECRET },
    });
    expect(result.errors).toEqual([]);
    const [db] = result.stack!.services;
    expect(db.environment).toEqual({
      POSTGRES_PASSWORD: SECRET,
      DATABASE_URL: `postgres://app:${SECRET}@db/app`,
      POSTGRES_USER: 'app',
      PLAIN: 'no placeholder',
    });
    expect(db.secretEnvironment).toEqual(['POSTGRES_PASSWORD', 'DATABASE_URL']);
  });

  it('leaves secretEnvironment out without secret variables', () => {
    const result = parseStack(document({ A: '${X}' }), { variables: { X: '1' } });
    expect(result.stack!.services[0]).not.toHaveProperty('secretEnvironment');
  });

  it('rejects a name sent in both fields', () => {
    const result = parseStack(document({ A: '${X}' }), {
      variables: { X: 'a' },
      secretVariables: { X: 'b' },
    });
    expect(result.errors).toEqual([
      {
        path: 'request.secretVariables.X',
        message: 'variable X is sent in both variables and secretVariables. Send it in secretVariables only.',
      },
    ]);
  });

  it('names the type of a wrong secret value but never the value', () => {
    const result = parseStack(document({ A: '${X}' }), { secretVariables: { X: 123456789 } });
    expect(result.errors).toContainEqual({
      path: 'request.secretVariables.X',
      message: 'variable X must be a string, got a number.',
    });
    expect(JSON.stringify(result)).not.toContain('123456789');
  });

  it('rejects secretVariables that is not an object', () => {
    const result = parseStack(document({}), { secretVariables: 'hunter2' });
    expect(result.errors).toEqual([
      {
        path: 'request.secretVariables',
        message:
          'secretVariables must be an object of strings, such as {"DB_PASSWORD": "..."}, got a string.',
      },
    ]);
  });

  it('warns about an unused secret variable by name', () => {
    const result = parseStack(document({}), { secretVariables: { UNUSED: SECRET } });
    expect(result.warnings).toEqual([
      {
        path: 'request.secretVariables.UNUSED',
        message: 'variable "UNUSED" is not used by any ${UNUSED} placeholder in an environment value.',
      },
    ]);
  });
});

describe('redactStack', () => {
  it('replaces only the secret values and keeps the input unchanged', () => {
    const stack = parseStack(document(ENVIRONMENT), {
      variables: { DB_USER: 'app' },
      secretVariables: { DB_PASSWORD: SECRET },
    }).stack!;
    const redacted = redactStack(stack);
    expect(redacted.services[0].environment).toEqual({
      POSTGRES_PASSWORD: REDACTED,
      DATABASE_URL: REDACTED,
      POSTGRES_USER: 'app',
      PLAIN: 'no placeholder',
    });
    expect(stack.services[0].environment.POSTGRES_PASSWORD).toBe(SECRET);
  });
});

describe('secret variables through the API', () => {
  let handle: DatabaseHandle;
  let api: TestApi;

  beforeAll(async () => {
    handle = await openTestDatabase();
  }, PGLITE_START_TIMEOUT_MS);

  afterAll(async () => {
    await handle.close();
  });

  beforeEach(async () => {
    api = await resetApi(handle.db);
    expect((await api.send('POST', '/hosts', hostBody('host1'))).status).toBe(201);
  });

  const body = () => ({
    stack: document(ENVIRONMENT),
    variables: { DB_USER: 'app' },
    secretVariables: { DB_PASSWORD: SECRET },
  });

  it('validate shows secret values redacted', async () => {
    const response = await api.send('POST', '/stacks/validate', body());
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text).not.toContain(SECRET);
    const stack = JSON.parse(text).stack as StackSpec;
    expect(stack.services[0].environment.POSTGRES_PASSWORD).toBe(REDACTED);
    expect(stack.services[0].secretEnvironment).toEqual(['POSTGRES_PASSWORD', 'DATABASE_URL']);
  });

  it('a deploy gives the workflow the real value and stores and shows it redacted', async () => {
    const started: StackSpec[] = [];
    api.deployer.start = async (input): Promise<WorkflowRef> => {
      started.push(input.stack);
      return { workflowId: 'deploy-secret-app', runId: 'run-1' };
    };
    api.deployer.workflowStatus = 'RUNNING';

    const accepted = await api.send('POST', '/deployments', body());
    const acceptedText = await accepted.text();
    expect(accepted.status).toBe(202);
    expect(acceptedText).not.toContain(SECRET);
    expect(started[0].services[0].environment.POSTGRES_PASSWORD).toBe(SECRET);

    const { deploymentId } = JSON.parse(acceptedText) as { deploymentId: string };
    const row = await getDeployment(api.db, deploymentId);
    expect(JSON.stringify(row)).not.toContain(SECRET);
    expect(row!.spec.services[0].environment.DATABASE_URL).toBe(REDACTED);

    const detail = await api.send('GET', `/deployments/${deploymentId}`);
    const detailText = await detail.text();
    expect(detail.status).toBe(200);
    expect(detailText).not.toContain(SECRET);
    expect(JSON.parse(detailText).spec.services[0].environment.POSTGRES_PASSWORD).toBe(REDACTED);

    const stackView = await api.send('GET', '/stacks/secret-app');
    expect(await stackView.text()).not.toContain(SECRET);
    expect(JSON.stringify(api.logLines())).not.toContain(SECRET);
  });

  it('an invalid secret value is rejected without echoing it', async () => {
    const response = await api.send('POST', '/deployments', {
      stack: document(ENVIRONMENT),
      variables: { DB_USER: 'app' },
      secretVariables: { DB_PASSWORD: 987654321 },
    });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text).not.toContain('987654321');
    expect(JSON.parse(text).error.details).toContainEqual({
      path: 'request.secretVariables.DB_PASSWORD',
      message: 'variable DB_PASSWORD must be a string, got a number.',
    });
  });
});
