// The workflow bundle's entry point: every workflow the worker runs.
export { deployStack } from './deploy-stack';
export { teardownStack } from './teardown-stack';
export { reconcileDeployment } from './reconcile';
