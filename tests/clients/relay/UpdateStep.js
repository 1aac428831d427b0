// A mutation whose answer updates the store's record of the step (by its nodeId).
graphql`
  mutation UpdateStepMutation($id: ID!, $input: UpdateSequenceStepInput!) {
    updateSequenceStep(id: $id, input: $input) {
      ...StepCard_step
    }
  }
`;
