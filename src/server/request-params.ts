import { createGraphQLError, type Plugin } from 'graphql-yoga';

/**
 * Yoga reads the variables and extensions of a GET (and the parameters of a
 * form-encoded or multipart POST) with JSON.parse and lets its SyntaxError
 * through, which the error masker can only take for a bug: an
 * INTERNAL_SERVER_ERROR, logged. It is the request that is malformed: 400
 * BAD_REQUEST, like Yoga's other refusals of request parameters.
 */
export function useMalformedParamsAsBadRequest(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
          throw createGraphQLError(`request parameters are not valid JSON: ${error.message}`, {
            extensions: { http: { status: 400 }, code: 'BAD_REQUEST' },
          });
        }
      });
    },
  };
}
