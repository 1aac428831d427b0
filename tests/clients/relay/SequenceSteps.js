// A sequence's steps, paged the usePaginationFragment way: a @connection on
// Sequence.sequenceSteps, refetched through Query.node with the next cursor.
graphql`
  fragment SequenceSteps_sequence on Sequence
  @refetchable(queryName: "SequenceStepsPaginationQuery")
  @argumentDefinitions(
    count: { type: "Int", defaultValue: 3 }
    cursor: { type: "String" }
  ) {
    name
    sequenceSteps(first: $count, after: $cursor, orderBy: [{ field: ORDER }])
      @connection(key: "SequenceSteps_sequenceSteps") {
      edges {
        node {
          order
          ...StepCard_step
        }
      }
    }
  }
`;
