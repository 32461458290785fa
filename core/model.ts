/**
 * The internal stack model. Every stack dialect is parsed into these types, and
 * no code after the parser depends on which dialect a stack came from. The model is
 * plain JSON so that it travels unchanged through Temporal payloads and the
 * database.
 */

/** Placement strategies a stack can ask for. */
export const PLACEMENT_STRATEGIES = ['manual', 'single', 'auto', 'datacenter', 'spread'] as const;
export type PlacementStrategyName = (typeof PLACEMENT_STRATEGIES)[number];

export interface PortSpec {
  containerPort: number;
  /** Host port to publish on; absent means not published unless a dependent on another host needs it. */
  hostPort?: number;
  protocol: 'tcp' | 'udp';
  /** Host address to bind the published port to; absent means every address of the host. */
  hostIp?: string;
}

/** A mount into a service's container. */
export interface MountSpec {
  /** `volume` is a named or anonymous Docker volume, `bind` a path on the host, `tmpfs` memory. */
  type: 'volume' | 'bind' | 'tmpfs';
  /** Volume name as the stack writes it, or absolute host path for `bind`; absent for tmpfs and anonymous volumes. */
  source?: string;
  /** Absolute path inside the container. */
  target: string;
  readOnly: boolean;
}

/** Resource limits of a container, which are also its requests to placement. */
export interface ResourceSpec {
  /** CPUs, such as 0.5 for half a CPU. */
  cpus?: number;
  memoryBytes?: number;
  /** Memory plus swap; -1 means unlimited swap. */
  memorySwapBytes?: number;
  /** Maximum number of processes. */
  pids?: number;
}

/** Docker's restart policy of a container. */
export interface RestartPolicy {
  name: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  /** Retries for `on-failure`; absent means no limit. */
  maximumRetryCount?: number;
}

/** A command run inside a container of the stack once its service is healthy. */
export interface PostStartAction {
  name: string;
  /** Free-form kind such as `migration`, for display. */
  actionType?: string;
  command: string[];
  timeoutMs: number;
  workingDirectory?: string;
  /** Service whose container runs the command: the action's own service unless the stack names another. */
  target: string;
}

/** Requirements a host must meet to run a service, besides the service's resources. */
export interface HostConstraint {
  datacenter?: string;
  /** Host labels the host must carry with these values. */
  labels: Record<string, string>;
  minCpus?: number;
  minMemoryBytes?: number;
}

/** The stack's own network, created on every host that runs one of its services. */
export interface NetworkSpec {
  /** Name as the stack writes it; Docker's name is derived from it unless `external`. */
  name: string;
  driver?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  /** The network exists already on the hosts, under this name, and Graphium neither creates nor removes it. */
  external: boolean;
}

/** A named volume the stack declares, created on the host of each container that mounts it. */
export interface VolumeSpec {
  name: string;
  driver?: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  /** The volume exists already on the hosts, under this name, and Graphium neither creates nor removes it. */
  external: boolean;
}

/** Timing shared by every health check kind, in milliseconds. */
export interface HealthTiming {
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export type HealthCheck = HealthTiming &
  (
    | { kind: 'docker'; test: string[] } // a Docker HEALTHCHECK: ["CMD", ...] or ["CMD-SHELL", "..."]
    | { kind: 'command'; command: string[] } // run inside the container, exit 0 is healthy
    | { kind: 'postgres' } // pg_isready inside the container
    | { kind: 'redis' } // redis-cli ping inside the container
    | { kind: 'http'; path: string; port?: number; headers: Record<string, string> }
    | { kind: 'tcp'; port?: number }
  );

export type HealthCheckKind = HealthCheck['kind'];

export interface Dependency {
  /** Name of another service of the same stack. */
  name: string;
  /** Start the dependent only once this dependency is healthy, not merely running. */
  waitForHealthy: boolean;
  /** Template for `<NAME>_URL` using `{host}`/`{port}` or `{{HOST}}`/`{{PORT}}`. */
  connectionString?: string;
}

export interface ServiceSpec {
  name: string;
  position: number;
  image: string;
  command?: string[];
  environment: Record<string, string>;
  /**
   * Keys of `environment` whose value contains the text of a secret variable. The database and
   * API responses show those values as REDACTED (core/secrets.ts). Absent: none.
   */
  secretEnvironment?: string[];
  ports: PortSpec[];
  healthCheck?: HealthCheck;
  dependencies: Dependency[];
  /** Host name from the registry, set when the stack pins this service. */
  targetHost?: string;
  /** Host requirements from the stack or the deploy request. */
  constraints?: HostConstraint;
  /** Services of the same stack that must not run on the same host as this one. */
  antiAffinity?: string[];
  labels: Record<string, string>;
  workingDir?: string;
  user?: string;
  restartPolicy?: RestartPolicy;
  resources: ResourceSpec;
  mounts: MountSpec[];
  /** Post-start actions this service declares, in the order they run. */
  actions: PostStartAction[];
  /** JSON path of the item in the source document, such as `$.itemListElement[2]`, for messages. */
  sourcePath: string;
}

export interface StackSpec {
  /** The stack name as written, kept for display; may contain spaces. */
  name: string;
  description?: string;
  placement: PlacementStrategyName;
  datacenter?: string;
  /** Hosts the deploy request allows; absent means every registered host. */
  candidateHosts?: string[];
  /** Largest number of this stack's services on one host. */
  maxServicesPerHost?: number;
  network?: NetworkSpec;
  /** Named volumes, the declared ones and those only mounted by name. */
  volumes: VolumeSpec[];
  services: ServiceSpec[];
}

/** A problem found in a stack document, located by its JSON path such as `$.itemListElement[2].ports[0].hostPort`. */
export interface StackIssue {
  path: string;
  message: string;
}

export interface ParseResult {
  /** Present only when there are no errors. */
  stack?: StackSpec;
  errors: StackIssue[];
  warnings: StackIssue[];
}

/** Endpoint of a host's Docker daemon. */
export type DockerEndpoint =
  | { protocol: 'unix'; socketPath: string }
  | {
      protocol: 'tcp';
      host: string;
      port: number;
      /** Paths of PEM files for mutual TLS; absent means plain TCP. */
      tls?: { ca: string; cert: string; key: string };
    };

export interface HostRecord {
  name: string;
  docker: DockerEndpoint;
  /** The address other hosts use to reach ports this host publishes. */
  address: string;
  datacenter: string;
  labels: Record<string, string>;
  /** `missing` pulls an image the host lacks; `never` fails instead. */
  imagePull: 'missing' | 'never';
  status: 'active' | 'inactive';
}

/** Live facts read from a host's Docker API at planning time. */
export interface HostFacts {
  name: string;
  reachable: boolean;
  /** Reason the host could not be read, when it is not reachable. */
  error?: string;
  /**
   * Why the host could not be read: `tls` when its TLS files are unusable or the TLS handshake
   * failed, which no retry fixes, and `unreachable` for any other error. Absent when reachable.
   */
  errorKind?: 'tls' | 'unreachable';
  cpus: number;
  memoryBytes: number;
  runningContainers: number;
  /** CPUs reserved by the limits of the running containers; absent when not read. */
  cpusReserved?: number;
  /** Memory reserved by the limits of the running containers; absent when not read. */
  memoryReservedBytes?: number;
  /** Host ports the running containers publish, as `8080/tcp`. */
  publishedPorts?: string[];
}
