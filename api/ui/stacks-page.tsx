/** The stacks page: every stack with the status, strategy and host count of its newest deployment. */
import type { StackSummary } from '../../db/repository';
import { formatTime } from './format';
import { Layout, StatusBadge } from './layout';

export function StacksPage(props: { stacks: StackSummary[]; nextHref?: string; temporalUiUrl: string }) {
  const { stacks } = props;
  return (
    <Layout title="Stacks" page="stacks" temporalUiUrl={props.temporalUiUrl}>
      <h1>Stacks</h1>
      {stacks.length === 0 ? (
        <p>
          Nothing is deployed yet. <a href="/ui/hosts">Register hosts</a>, then{' '}
          <a href="/ui/deploy">deploy a stack</a>.
        </p>
      ) : (
        <table>
          <caption class="muted">Each stack as its newest deployment left it</caption>
          <thead>
            <tr>
              <th scope="col">Stack</th>
              <th scope="col">Status</th>
              <th scope="col">Strategy</th>
              <th scope="col">Hosts</th>
              <th scope="col">Last change</th>
            </tr>
          </thead>
          <tbody>
            {stacks.map((stack) => (
              <tr data-stack={stack.stackSlug}>
                <th scope="row">
                  <a href={`/ui/stacks/${encodeURIComponent(stack.stackSlug)}`}>{stack.stackName}</a>
                </th>
                <td>
                  <StatusBadge status={stack.status} />
                </td>
                <td>{stack.strategy}</td>
                <td>{String(stack.hostCount)}</td>
                <td>
                  <time datetime={stack.updatedAt.toISOString()}>{formatTime(stack.updatedAt)}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.nextHref ? (
        <p>
          <a href={props.nextHref}>Next page</a>
        </p>
      ) : null}
      <p>
        <a href="/ui/deploy">Deploy a stack</a>
      </p>
    </Layout>
  );
}
