// graphql-codegen's client preset: typed documents from the `graphql()` calls in src/, and a
// manifest of them by SHA-256 (src/gql/persisted-documents.json) that the server takes with
// `--trusted-documents`. The documents carry `__typename` (the transform below), so what the
// server runs from the manifest is what urql's cache expects.
import type { CodegenConfig } from "@graphql-codegen/cli";
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["src/**/*.tsx", "!src/gql/**/*"],
  generates: {
    "./src/gql/": {
      preset: "client",
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { hashAlgorithm: "sha256" },
      },
      config: {
        scalars: { DateTime: "string", Date: "string" },
        enumsAsTypes: true,
        useTypeImports: true,
      },
      documentTransforms: [addTypenameSelectionDocumentTransform],
    },
  },
};

export default config;
