/**
 * Schemas of the API's response bodies and of the stack request body, for the OpenAPI document.
 * The request schemas of the routes live beside the routes; these describe what the routes send
 * back. The API unit tests check every response they receive against them, so a field added to
 * a response without a line here fails a test.
 */
import { z } from 'zod';
import { DEPLOYMENT_STATUSES } from '../db/schema';

const timestamp = z.iso.datetime({ offset: true }).describe('ISO 8601 time in UTC.');

/** Body of every failed request. */
export const errorBodySchema = z
  .strictObject({
    error: z.strictObject({
      code: z.string().describe('Stable machine-readable code, such as `validation_failed` or `stack_busy`.'),
      message: z.string().describe('What is wrong, naming the field or object, and how to fix it.'),
      details: z
        .array(
          z.strictObject({
            path: z.string().describe('JSON path of the offending value, such as `$.docker.port`.'),
            message: z.string(),
          }),
        )
        .optional()
        .describe('One entry per invalid field or per service that fits on no host.'),
      requestId: z.string().describe('The request id, also sent as the `X-Request-Id` header and logged.'),
    }),
  })
  .meta({ id: 'Error' });

const dockerEndpoint = z
  .union([
    z.strictObject({ protocol: z.literal('unix'), socketPath: z.string() }),
    z.strictObject({
      protocol: z.literal('tcp'),
      host: z.string(),
      port: z.number().int(),
      tls: z
        .strictObject({ ca: z.string(), cert: z.string(), key: z.string() })
        .optional()
        .describe('Paths of the PEM files on the Graphium server; their contents are never returned.'),
    }),
  ])
  .meta({ id: 'DockerEndpoint' });

const hostFacts = z
  .union([
    z.strictObject({
      reachable: z.literal(true),
      cpus: z.number(),
      cpusReserved: z.number().describe('CPU limits of the running containers.'),
      cpusFree: z.number(),
      memoryBytes: z.number(),
      memoryReservedBytes: z.number().describe('Memory limits of the running containers.'),
      memoryFreeBytes: z.number(),
      runningContainers: z.number().int(),
      publishedPorts: z
        .array(z.string())
        .describe('Host ports already published on the host, as `port/protocol`.'),
    }),
    z.strictObject({
      reachable: z.literal(false),
      error: z.string().optional(),
      errorKind: z
        .enum(['tls', 'unreachable'])
        .optional()
        .describe('`tls` when the TLS files or the handshake failed, which no retry fixes.'),
    }),
  ])
  .meta({ id: 'HostFacts', description: 'Live figures read from the Docker daemon, cached for 2 s.' });

const hostFields = {
  name: z.string(),
  docker: dockerEndpoint,
  address: z.string().describe('Address at which other hosts reach the containers published here.'),
  datacenter: z.string(),
  labels: z.record(z.string(), z.string()),
  imagePull: z.enum(['missing', 'never']),
  status: z.enum(['active', 'inactive']),
  createdAt: timestamp,
  updatedAt: timestamp,
  links: z.strictObject({ self: z.string() }),
};

export const hostSchema = z.strictObject({ ...hostFields, facts: hostFacts }).meta({ id: 'Host' });

export const registeredHostSchema = z
  .strictObject({
    ...hostFields,
    daemon: z
      .strictObject({
        reachable: z.boolean(),
        version: z.string().optional(),
        apiVersion: z.string().optional(),
        error: z.string().optional(),
        errorKind: z.enum(['tls', 'unreachable']).optional(),
      })
      .describe('Result of asking the daemon for its version; the host is registered either way.'),
  })
  .meta({ id: 'RegisteredHost' });

const pageFieldsSchema = {
  nextCursor: z.string().optional().describe('Pass as `cursor` for the next page; absent on the last page.'),
  links: z.strictObject({ next: z.string().optional().describe('Path of the next page.') }),
};

export const hostListSchema = z.strictObject({ items: z.array(hostSchema), ...pageFieldsSchema });

const deploymentStatus = z.enum(DEPLOYMENT_STATUSES);

const deploymentFields = {
  deploymentId: z.string(),
  stackName: z.string(),
  stackSlug: z.string(),
  status: deploymentStatus,
  strategy: z.string(),
  workflowId: z.string(),
  runId: z.string().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
  finishedAt: timestamp.nullable(),
  links: z.strictObject({
    self: z.string(),
    stack: z.string(),
    temporalUi: z.string().describe('The workflow in the Temporal web UI.'),
  }),
};

export const deploymentSummarySchema = z.strictObject(deploymentFields).meta({ id: 'DeploymentSummary' });

export const deploymentListSchema = z.strictObject({
  items: z.array(deploymentSummarySchema),
  ...pageFieldsSchema,
});

const issue = z.strictObject({ path: z.string(), message: z.string() });

const publishedPort = z.strictObject({
  containerPort: z.number().int(),
  hostPort: z.number().int(),
  protocol: z.enum(['tcp', 'udp']),
});

const connection = z
  .strictObject({ name: z.string(), address: z.string(), port: z.number().int().optional() })
  .describe('A dependency this container was wired to, with the address and port it received.');

const deploymentContainer = z
  .strictObject({
    service: z.string(),
    hostName: z.string(),
    hostAddress: z.string(),
    containerId: z.string(),
    containerName: z.string(),
    image: z.string(),
    ports: z.array(publishedPort),
    connections: z.array(connection),
    health: z.string(),
    position: z.number().int(),
    actions: z.array(z.unknown()).describe('Post-start actions with exit code and the end of their output.'),
  })
  .meta({ id: 'DeploymentContainer' });

const serviceProgress = z.looseObject({
  service: z.string(),
  step: z.string().describe('Such as `starting`, `waiting for health`, `healthy` or `failed`.'),
  host: z.string().optional(),
  detail: z.string().optional(),
});

const progress = z
  .looseObject({
    deploymentId: z.string(),
    phase: z
      .string()
      .describe('`planning`, `deploying`, `running`, `rolling back`, `rolled back` or `cancelled`.'),
    wave: z.number().int(),
    waves: z.array(z.array(z.string())),
    services: z.array(serviceProgress),
  })
  .describe('Live progress from the workflow, present while it may still run.');

export const deploymentDetailSchema = z
  .strictObject({
    ...deploymentFields,
    spec: z.record(z.string(), z.unknown()).describe('The normalized stack, with secret values redacted.'),
    warnings: z.array(issue),
    placement: z.unknown().describe('The placement plan: host, score and reasons per service.'),
    failure: z.array(z.string()).nullable().describe('The cause chain, outermost first.'),
    compensation: z
      .unknown()
      .describe('The rollback report: what was removed, what could not be, and its reconciliation.'),
    resources: z.array(z.unknown()).describe('Networks and volumes per host.'),
    progress: progress.optional(),
    containers: z.array(deploymentContainer).describe('The map of what runs where.'),
  })
  .meta({ id: 'Deployment' });

export const deploymentAcceptedSchema = z.strictObject({
  deploymentId: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  status: deploymentStatus,
  warnings: z.array(issue),
  links: z.strictObject({ self: z.string(), temporalUi: z.string() }),
});

export const cancelAcceptedSchema = z.strictObject({
  deploymentId: z.string(),
  status: deploymentStatus,
  cancelRequested: z.literal(true),
  links: z.strictObject({ self: z.string() }),
});

export const stackSummarySchema = z
  .strictObject({
    stackSlug: z.string(),
    stackName: z.string(),
    deploymentId: z.string().describe('The newest deployment of the stack.'),
    status: deploymentStatus,
    strategy: z.string(),
    hostCount: z.number().int().describe('Hosts that run a container of the newest deployment.'),
    updatedAt: timestamp,
    links: z.strictObject({ self: z.string(), deployment: z.string() }),
  })
  .meta({ id: 'StackSummary' });

export const stackListSchema = z.strictObject({ items: z.array(stackSummarySchema), ...pageFieldsSchema });

const rejectedHost = z.strictObject({ host: z.string(), reason: z.string() });

const rejectionGroup = z.strictObject({
  reason: z.string(),
  count: z.number().int(),
  examples: z.array(rejectedHost),
});

const weights = z.strictObject({ cpu: z.number(), memory: z.number(), containers: z.number() });

export const placementPlanSchema = z
  .strictObject({
    strategy: z.enum(['manual', 'auto', 'spread', 'datacenter', 'single']),
    datacenter: z.string().optional(),
    weights,
    assignments: z.record(z.string(), z.string()).describe('Service name to host name.'),
    services: z.array(
      z.strictObject({
        service: z.string(),
        host: z.string(),
        pinned: z.boolean(),
        score: z
          .strictObject({ cpu: z.number(), memory: z.number(), containers: z.number(), total: z.number() })
          .optional(),
        reason: z.string(),
        rejected: z.array(rejectedHost).describe('Every other host with the reason, up to 64 hosts.'),
        rejectedGroups: z
          .array(rejectionGroup)
          .optional()
          .describe('Rejections grouped by kind above 64 hosts.'),
      }),
    ),
  })
  .meta({ id: 'PlacementPlan' });

export const planResultSchema = z.strictObject({
  stackName: z.string(),
  strategy: z.string(),
  plan: placementPlanSchema,
  warnings: z.array(issue),
});

export const validateResultSchema = z.strictObject({
  valid: z.boolean(),
  stack: z.record(z.string(), z.unknown()).nullable().describe('The normalized stack when it is valid.'),
  plan: placementPlanSchema.nullable(),
  errors: z.array(issue),
  warnings: z.array(issue),
});

export const teardownAcceptedSchema = z.strictObject({
  teardownId: z.string(),
  stackName: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  cancelledDeploymentId: z
    .string()
    .optional()
    .describe('The deploy that was still running and is now cancelled.'),
  links: z.strictObject({ self: z.string(), temporalUi: z.string() }),
});

const orphan = z
  .strictObject({
    host: z.string(),
    containerId: z.string(),
    containerName: z.string(),
    state: z.string(),
    stack: z.string(),
    service: z.string(),
    deploymentId: z.string(),
    deploymentStatus: deploymentStatus.nullable(),
  })
  .meta({ id: 'Orphan' });

const unreachableHost = z.strictObject({ host: z.string(), error: z.string() });

export const orphanAuditSchema = z.strictObject({
  orphans: z.array(orphan),
  unreachable: z
    .array(unreachableHost)
    .describe('Hosts the audit could not list, so it does not cover them.'),
  hostsChecked: z.number().int(),
});

export const orphanRemovalSchema = z.strictObject({
  removed: z.array(orphan),
  failed: z.array(orphan.extend({ error: z.string() })),
  skipped: z.array(z.strictObject({ containerId: z.string(), reason: z.string() })),
  unreachable: z.array(unreachableHost),
});

const payload = z.strictObject({
  metadata: z.record(z.string(), z.string()).describe('Metadata values in base64.'),
  data: z.string().describe('Payload bytes in base64.'),
});

/** Body of the codec requests and responses, in the Temporal remote codec format. */
export const payloadsSchema = z.strictObject({ payloads: z.array(payload) }).meta({ id: 'Payloads' });

export const healthSchema = z.strictObject({ ok: z.literal(true) });

export const loginResultSchema = z.strictObject({
  token: z.string().describe('Name of the token that logged in.'),
  role: z.enum(['read', 'deploy', 'admin']),
  expiresAt: timestamp.describe('When the session cookie stops being accepted.'),
});

/**
 * The body of the stack routes, described for readers. The stack reader checks it with a message
 * and a JSON path for each problem; this schema lists the fields a request may carry.
 */
export const stackRequestSchema = z
  .looseObject({
    '@context': z.unknown().optional(),
    '@type': z.string().optional().describe('`ItemList`, or absent for a JSON-LD `@graph` document.'),
    name: z.string().optional().describe('Stack name; its slug names the containers.'),
    itemListElement: z
      .array(z.record(z.string(), z.unknown()))
      .optional()
      .describe('`SoftwareApplication` items: name, image, ports, environment, healthCheck, dependsOn...'),
    '@graph': z.array(z.record(z.string(), z.unknown())).optional().describe('JSON-LD nodes of the stack.'),
    stack: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('The stack document, when the request fields below are sent beside it.'),
    strict: z.boolean().optional().describe('Treat warnings, such as unknown keys, as errors.'),
    variables: z
      .record(z.string(), z.string())
      .optional()
      .describe('Values of `${VAR}` in environment values.'),
    secretVariables: z
      .record(z.string(), z.string())
      .optional()
      .describe('Like `variables`, but redacted wherever the stack is stored, logged or returned.'),
    strategy: z.enum(['manual', 'auto', 'spread', 'datacenter', 'single']).optional(),
    datacenter: z.string().optional(),
    targetHosts: z.array(z.string()).optional().describe('Hosts the placement may use.'),
    hostConstraints: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'StackRequest' });
