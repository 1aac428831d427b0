// Every visible step, paged from the root: a @connection on Query.sequenceSteps, refetched
// as a query on Query itself.
graphql`
  fragment AllSteps_query on Query
  @refetchable(queryName: "AllStepsPaginationQuery")
  @argumentDefinitions(
    count: { type: "Int", defaultValue: 4 }
    cursor: { type: "String" }
  ) {
    sequenceSteps(first: $count, after: $cursor)
      @connection(key: "AllSteps_sequenceSteps") {
      edges {
        node {
          ...StepCard_step
        }
      }
    }
  }
`;

graphql`
  query AllStepsQuery {
    ...AllSteps_query
    sequences(first: 1) {
      nodes {
        ...SequenceSteps_sequence
      }
    }
  }
`;
