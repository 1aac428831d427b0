// A step as a card: refetchable by its nodeId (Relay generates StepCardRefetchQuery, which
// asks Query.node(id:) for it).
graphql`
  fragment StepCard_step on SequenceStep @refetchable(queryName: "StepCardRefetchQuery") {
    id
    displayName
    order
    interval
    updatedAt
    canWrite
    deliverCount
    openCount
    clickCount
    replyCount
  }
`;
