/**
 * An activity interceptor that adds the ids of the activity's input (deployment, host, service)
 * to every line the activity logs, the SDK's own lines included. Activities still name other
 * fields, such as the container, themselves.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { inputLogIds } from '../workflows/log-attributes';

/** Creates the interceptors of one activity attempt. */
export const activityLogAttributes: ActivityInterceptorsFactory = () => {
  let ids: Record<string, string> = {};
  return {
    inbound: {
      execute(input, next) {
        ids = inputLogIds(input.args[0]);
        return next(input);
      },
    },
    outbound: {
      getLogAttributes(attributes, next) {
        return next({ ...ids, ...attributes });
      },
    },
  };
};
