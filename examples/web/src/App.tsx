// A person pastes a token, then: pages through the sequences, opens one, sees its steps in
// order with their delivered / opened / clicked / replied counts as bars, changes a step's
// interval and order or deletes it, is told (not silently overwritten) when someone else
// changed the step first, and watches the counts move live as mailing events arrive.
import { useEffect, useMemo, useState } from "react";
import { Provider, useMutation, useQuery, useSubscription, type CombinedError } from "urql";
import { graphql } from "./gql";
import type { StepFieldsFragment } from "./gql/graphql";
import { makeClient } from "./client";

const TOKEN_KEY = "stepgraph-token";

export function App() {
  const [token, setToken] = useState(() => localStorage.getItem(TOKEN_KEY) ?? "");
  const client = useMemo(() => (token ? makeClient(token) : null), [token]);
  const [open, setOpen] = useState<string | null>(null);
  if (!client) {
    return (
      <TokenForm
        onToken={(t) => {
          localStorage.setItem(TOKEN_KEY, t);
          setToken(t);
        }}
      />
    );
  }
  return (
    <Provider value={client}>
      <header>
        <h1>Sequences</h1>
        <button
          onClick={() => {
            localStorage.removeItem(TOKEN_KEY);
            setToken("");
            setOpen(null);
          }}
        >
          Sign out
        </button>
      </header>
      {open ? (
        <SequencePage id={open} onBack={() => setOpen(null)} />
      ) : (
        <SequenceList onOpen={setOpen} />
      )}
    </Provider>
  );
}

function TokenForm({ onToken }: { onToken: (token: string) => void }) {
  const [value, setValue] = useState("");
  return (
    <form
      className="token"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim()) onToken(value.trim());
      }}
    >
      <h1>stepgraph</h1>
      <label>
        Token (<code>stepgraph serve --demo</code> prints one per user)
        <input
          name="token"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="sgt_..."
          autoFocus
        />
      </label>
      <button type="submit">Sign in</button>
    </form>
  );
}

/** The error's `extensions.code` and message, for people. */
function problem(error: CombinedError | undefined): { code: string; message: string } | null {
  if (!error) return null;
  const first = error.graphQLErrors[0];
  if (first) {
    return { code: String(first.extensions?.code ?? "ERROR"), message: first.message };
  }
  return { code: "NETWORK", message: error.networkError?.message ?? error.message };
}

const SequencesQuery = graphql(`
  query Sequences($first: Int, $after: String, $last: Int, $before: String) {
    sequences(first: $first, after: $after, last: $last, before: $before, orderBy: [{ field: NAME }]) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      nodes {
        id
        name
        shareType
        sequenceStepCount
        deliverCount
        replyCount
        owner {
          name
        }
      }
    }
  }
`);

const PAGE = 3;

function SequenceList({ onOpen }: { onOpen: (id: string) => void }) {
  const [page, setPage] = useState<{ after?: string; before?: string }>({});
  const variables = page.before ? { last: PAGE, before: page.before } : { first: PAGE, after: page.after };
  const [{ data, fetching, error }] = useQuery({ query: SequencesQuery, variables });
  const failed = problem(error);
  if (failed) return <p className="error" data-testid="error">{failed.code}: {failed.message}</p>;
  if (!data) return <p>{fetching ? "Loading…" : ""}</p>;
  const { nodes, pageInfo, totalCount } = data.sequences;
  return (
    <section>
      <p data-testid="total">{totalCount} sequences you can see</p>
      <ul className="sequences">
        {nodes.map((s) => (
          <li key={s.id}>
            <button className="link" data-testid="sequence" onClick={() => onOpen(s.id)}>
              {s.name}
            </button>
            <span className="meta">
              {s.owner.name} · {s.shareType.toLowerCase()} · {s.sequenceStepCount} steps ·{" "}
              {s.deliverCount} delivered · {s.replyCount} replied
            </span>
          </li>
        ))}
      </ul>
      <nav>
        <button
          data-testid="previous"
          disabled={!pageInfo.hasPreviousPage || !pageInfo.startCursor}
          onClick={() => setPage({ before: pageInfo.startCursor ?? undefined })}
        >
          ← Previous
        </button>
        <button
          data-testid="next"
          disabled={!pageInfo.hasNextPage || !pageInfo.endCursor}
          onClick={() => setPage({ after: pageInfo.endCursor ?? undefined })}
        >
          Next →
        </button>
      </nav>
    </section>
  );
}

graphql(`
  fragment StepFields on SequenceStep {
    id
    order
    displayName
    stepType
    interval
    updatedAt
    canWrite
    canDelete
    deliverCount
    openCount
    clickCount
    replyCount
  }
`);

const SequenceQuery = graphql(`
  query Sequence($id: ID!) {
    sequence(id: $id) {
      id
      name
      sequenceType
      canWrite
      sequenceSteps(first: 100, orderBy: [{ field: ORDER }]) {
        nodes {
          ...StepFields
        }
      }
    }
  }
`);

const StepChanges = graphql(`
  subscription StepChanges($sequence: ID!) {
    sequenceStepChanged(filter: { sequence: { id: [$sequence] } }) {
      kind
      id
    }
  }
`);

function SequencePage({ id, onBack }: { id: string; onBack: () => void }) {
  const [{ data, error }, reload] = useQuery({ query: SequenceQuery, variables: { id } });
  // Live: the server pushes every change to one of the sequence's steps (a counter moved by
  // a mailing event, someone else's edit); the page then reads the sequence again, so what
  // it shows is one consistent answer, never a mix of old and pushed rows.
  const [live] = useSubscription(
    { query: StepChanges, variables: { sequence: id } },
    (changes: number = 0) => changes + 1,
  );
  useEffect(() => {
    if (live.data) reload({ requestPolicy: "network-only" });
  }, [live.data, reload]);
  const failed = problem(error);
  if (failed) return <p className="error" data-testid="error">{failed.code}: {failed.message}</p>;
  if (!data) return <p>Loading…</p>;
  if (!data.sequence) return <p className="error">This sequence does not exist or is not visible to you.</p>;
  const steps = [...data.sequence.sequenceSteps.nodes].sort((a, b) => a.order - b.order);
  const most = Math.max(1, ...steps.map((s) => s.deliverCount));
  return (
    <section>
      <button className="link" onClick={onBack}>
        ← All sequences
      </button>
      <h2 data-testid="sequence-name">{data.sequence.name}</h2>
      <p className="meta" data-testid="live">
        {data.sequence.sequenceType === "INTERVAL" ? "interval-based" : "date-based"} ·{" "}
        {steps.length} steps · {live.error ? "live updates stopped" : "live"}
      </p>
      <ol className="steps">
        {steps.map((s) => (
          <StepRow key={s.id} step={s} most={most} onChanged={() => reload({ requestPolicy: "network-only" })} />
        ))}
      </ol>
    </section>
  );
}

const UpdateStep = graphql(`
  mutation UpdateStep($id: ID!, $input: UpdateSequenceStepInput!) {
    updateSequenceStep(id: $id, input: $input) {
      ...StepFields
    }
  }
`);

const DeleteStep = graphql(`
  mutation DeleteStep($id: ID!, $expectedUpdatedAt: DateTime) {
    deleteSequenceStep(id: $id, expectedUpdatedAt: $expectedUpdatedAt)
  }
`);

const BARS = [
  ["deliverCount", "delivered"],
  ["openCount", "opened"],
  ["clickCount", "clicked"],
  ["replyCount", "replied"],
] as const;

function StepRow({ step, most, onChanged }: { step: StepFieldsFragment; most: number; onChanged: () => void }) {
  // The version this form edits: a save names it (`expectedUpdatedAt`), so a change someone
  // else made since (pushed live into `step`) makes the save fail with CONFLICT instead of
  // being overwritten.
  const [base, setBase] = useState(step.updatedAt);
  const [interval, setInterval] = useState(step.interval?.toString() ?? "");
  const [order, setOrder] = useState(step.order.toString());
  const restart = () => {
    setBase(step.updatedAt);
    setInterval(step.interval?.toString() ?? "");
    setOrder(step.order.toString());
    setMessage(null);
  };
  const [message, setMessage] = useState<{ kind: "error" | "conflict"; text: string } | null>(null);
  const [, update] = useMutation(UpdateStep);
  const [, remove] = useMutation(DeleteStep);
  const report = (error: CombinedError | undefined) => {
    const p = problem(error);
    if (!p) return false;
    setMessage(
      p.code === "CONFLICT"
        ? {
            kind: "conflict",
            text: "Someone else changed this step after you opened it, so your change was not saved. Reload to see theirs, then try again.",
          }
        : { kind: "error", text: `${p.code}: ${p.message}` },
    );
    return true;
  };
  const save = async () => {
    setMessage(null);
    const input: { order?: number; interval?: number; expectedUpdatedAt: string } = {
      expectedUpdatedAt: base,
    };
    if (order !== step.order.toString()) input.order = Number(order);
    if (step.interval !== null && interval !== step.interval.toString()) input.interval = Number(interval);
    const res = await update({ id: step.id, input });
    if (report(res.error) || !res.data) return;
    const saved = res.data.updateSequenceStep;
    setBase(saved.updatedAt);
    setOrder(saved.order.toString());
    setInterval(saved.interval?.toString() ?? "");
    onChanged();
  };
  const del = async () => {
    setMessage(null);
    const res = await remove({ id: step.id, expectedUpdatedAt: base });
    if (!report(res.error)) onChanged();
  };
  return (
    <li className="step" data-testid="step" data-step-id={step.id}>
      <div className="title">
        <span className="order">{step.order}</span> {step.displayName}
      </div>
      <div className="bars">
        {BARS.map(([field, label]) => (
          <div key={field} className="bar" data-testid={`bar-${label}`} data-value={step[field]}>
            <span className="label">{label}</span>
            <span className="fill" style={{ width: `${(100 * step[field]) / most}%` }} />
            <span className="value">{step[field]}</span>
          </div>
        ))}
      </div>
      {step.canWrite && (
        <div className="edit">
          {step.interval !== null && (
            <label>
              Interval (s)
              <input data-testid="interval" value={interval} onChange={(e) => setInterval(e.target.value)} inputMode="numeric" />
            </label>
          )}
          <label>
            Order
            <input data-testid="order" value={order} onChange={(e) => setOrder(e.target.value)} inputMode="numeric" />
          </label>
          <button data-testid="save" onClick={save}>
            Save
          </button>
          {step.canDelete && (
            <button data-testid="delete" className="danger" onClick={del}>
              Delete
            </button>
          )}
        </div>
      )}
      {message && (
        <p className={message.kind} data-testid={message.kind} role="alert">
          {message.text}{" "}
          {message.kind === "conflict" && (
            <button data-testid="reload" onClick={restart}>
              Reload
            </button>
          )}
        </p>
      )}
    </li>
  );
}
