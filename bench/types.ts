/**
 * The shapes every benchmark peer shares. A scenario describes its stacks once, as
 * `BenchStack`. Each peer (Graphium, the raw Docker floor, Compose, Swarm) turns that
 * description into its own form, so every peer runs the same images, commands, ports
 * and health probes.
 */

/** A lab host name, `host1` to `host3`. */
export type LabHostName = string;

export interface BenchDependency {
  /** The service depended on. */
  name: string;
  /** Start only once that service is healthy; otherwise once it runs. */
  waitForHealthy: boolean;
}

export interface BenchPort {
  containerPort: number;
  /** Published port on the host. Peers that place every service on one host may refuse clashes. */
  hostPort: number;
}

export interface BenchService {
  name: string;
  image: string;
  command: string[];
  environment: Record<string, string>;
  ports: BenchPort[];
  /**
   * Command run inside the container; exit 0 means healthy. Graphium and the floor run it
   * through `docker exec`; Compose and Swarm give it to Docker as the HEALTHCHECK.
   */
  healthCommand: string[];
  /**
   * Services this one needs. It reaches each through `NAME_HOST` and `NAME_PORT` (the name
   * upper-cased, `-` as `_`). Across hosts they hold the host's address and published port.
   * Inside one Compose project or Swarm overlay network, they hold the service name and the
   * container port.
   */
  dependencies: BenchDependency[];
  /** Host on which Graphium and the floor run the service. Compose ignores it, and Swarm pins to that node. */
  host: LabHostName;
}

export interface BenchStack {
  /** Unique per run and peer, so leftovers of one run never meet the next. */
  name: string;
  services: BenchService[];
}

/** Measurement of one stack by one peer. */
export interface PeerResult {
  /** Seconds from the start of the request to every service healthy (or every task running). */
  seconds: number;
  /** Containers the peer started for the stack. */
  containers: number;
}

export interface Peer {
  readonly name: 'graphium' | 'floor' | 'compose' | 'swarm';
  /** Brings the stack up and waits until every service is healthy. */
  deploy(stack: BenchStack): Promise<PeerResult>;
  /** Removes everything the peer created for the stack; safe to call after a failed deploy. */
  remove(stack: BenchStack): Promise<void>;
}
