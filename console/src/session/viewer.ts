import { graphql } from '../graphql';

/** What the token may do: asked once when the token is given, before any panel shows. */
export const ViewerQuery = graphql(`
  query ConsoleViewer {
    viewer {
      tokenName
      scopes
    }
  }
`);
