/** Errors the repository functions raise for conditions a caller is expected to handle. */

/** Raised when a host is registered under a name that is already taken. */
export class HostExistsError extends Error {
  override name = 'HostExistsError';

  constructor(readonly hostName: string) {
    super(`host "${hostName}" is already registered; delete it first or choose another name`);
  }
}

/** Raised when a write names a host that is not registered. */
export class HostNotFoundError extends Error {
  override name = 'HostNotFoundError';

  constructor(readonly hostName: string) {
    super(`host "${hostName}" is not registered`);
  }
}

/** Raised when a write names a deployment id that has no row. */
export class DeploymentNotFoundError extends Error {
  override name = 'DeploymentNotFoundError';

  constructor(readonly deploymentId: string) {
    super(`deployment "${deploymentId}" was not found`);
  }
}
