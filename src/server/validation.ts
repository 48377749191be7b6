import { GraphQLError, NoSchemaIntrospectionCustomRule, specifiedRules, type ValidationContext, type ValidationRule } from 'graphql';
import { ProvidedRequiredArgumentsRule, ValuesOfCorrectTypeRule, VariablesInAllowedPositionRule } from 'graphql';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { Plugin } from 'graphql-yoga';
import type { Limits } from '../config.js';
import type { Identity } from '../engine/auth/identity.js';

export const LIMIT_CODE = 'QUERY_LIMIT_EXCEEDED';
const VALUE_RULES = new Set<ValidationRule>([ValuesOfCorrectTypeRule, ProvidedRequiredArgumentsRule, VariablesInAllowedPositionRule]);
const SUGGESTION = / ?Did you mean .+\?$/;

/** Reports a rule's errors with `code` (and without "Did you mean" hints when asked, and in other words when given). */
function coded(rule: ValidationRule, code: string, hideSuggestions: boolean, message?: (original: string) => string): ValidationRule {
  return (context) => {
    const view = Object.create(context) as typeof context;
    view.reportError = (error: GraphQLError) => {
      const text = message ? message(error.message) : hideSuggestions ? error.message.replace(SUGGESTION, '') : error.message;
      context.reportError(new GraphQLError(text, { nodes: error.nodes, extensions: { ...error.extensions, code: error.extensions.code ?? code } }));
    };
    return rule(view);
  };
}

/** Reports only the rule's first error: a document that trips it on every field (GraphiQL's introspection query) gets one error, not one per field. */
function firstErrorOnly(rule: ValidationRule): ValidationRule {
  return (context) => {
    let reported = false;
    const view = Object.create(context) as typeof context;
    view.reportError = (error: GraphQLError) => {
      if (reported) return;
      reported = true;
      context.reportError(error);
    };
    return rule(view);
  };
}

/** The same errors without their "Did you mean" hints (graphql-js adds them to variable coercion errors too). */
function withoutSuggestions(errors: readonly GraphQLError[]): GraphQLError[] {
  return errors.map((error) =>
    SUGGESTION.test(error.message)
      ? new GraphQLError(error.message.replace(SUGGESTION, ''), {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          path: error.path,
          originalError: error.originalError,
          extensions: error.extensions,
        })
      : error,
  );
}

/**
 * What a caller may learn about the schema: everything (introspection on,
 * a valid token), nothing because it sent no valid token, or nothing
 * because introspection is off for everyone.
 */
type SchemaView = 'full' | 'anonymous' | 'off';

const INTROSPECTION_NEEDS_TOKEN = (message: string) => `introspection needs a token: send Authorization: Bearer <token> (${message.replace(/^GraphQL introspection has been disabled, but the /, '')})`;

export interface ValidationPolicy {
  limits: Limits;
  introspection: boolean;
}

/**
 * The validation every operation passes, over HTTP, SSE and graphql-ws:
 * graphql-js's rules (a bad argument value is BAD_USER_INPUT, anything else
 * GRAPHQL_VALIDATION_FAILED), the size limits (QUERY_LIMIT_EXCEEDED; the cost limit
 * needs the variables, so it runs at execution: cost.ts), and,
 * who may see the schema: with introspection on, a caller without a valid
 * token gets no schema queries (UNAUTHENTICATED) and no "Did you mean"
 * hints; with it off, no one does (INTROSPECTION_DISABLED). The hints go
 * from validation errors and from variable coercion errors alike.
 */
export function useValidationPolicy({ limits, introspection }: ValidationPolicy): Plugin {
  const off = (n: number) => n === 0;
  // Report, don't throw: a thrown rule error would escape validation (and end a WebSocket with 4500).
  const armor = {
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, '')))],
  };
  const limitRules: ValidationRule[] = [
    ...(off(limits.maxDepth) ? [] : [maxDepthRule({ ...armor, n: limits.maxDepth, ignoreIntrospection: true })]),
    ...(off(limits.maxAliases) ? [] : [maxAliasesRule({ ...armor, n: limits.maxAliases })]),
    ...(off(limits.maxDirectives) ? [] : [maxDirectivesRule({ ...armor, n: limits.maxDirectives })]),
  ];
  const rulesOf = (view: SchemaView): ValidationRule[] => {
    const hide = view !== 'full';
    return [
      ...specifiedRules.map((rule) => coded(rule, VALUE_RULES.has(rule) ? 'BAD_USER_INPUT' : 'GRAPHQL_VALIDATION_FAILED', hide)),
      ...limitRules.map((rule) => coded(rule, LIMIT_CODE, hide)),
      ...(view === 'off' ? [firstErrorOnly(coded(NoSchemaIntrospectionCustomRule, 'INTROSPECTION_DISABLED', hide))] : []),
      ...(view === 'anonymous' ? [firstErrorOnly(coded(NoSchemaIntrospectionCustomRule, 'UNAUTHENTICATED', hide, INTROSPECTION_NEEDS_TOKEN))] : []),
    ];
  };
  // Yoga caches validation results by document and the names of the rules given: a no-op rule named after the view keeps the views' results apart.
  const cacheKey = (name: string): ValidationRule => Object.defineProperty(() => ({}), 'name', { value: name });
  const views = {
    full: { rules: rulesOf('full'), cacheKey: cacheKey('fullSchemaView') },
    anonymous: { rules: rulesOf('anonymous'), cacheKey: cacheKey('anonymousSchemaView') },
    off: { rules: rulesOf('off'), cacheKey: cacheKey('noSchemaView') },
  };
  // HTTP and SSE requests carry the identity in their server context (app.ts), graphql-ws operations in theirs.
  const viewOf = (context: unknown): SchemaView => (!introspection ? 'off' : (context as { identity?: Identity | null } | undefined)?.identity ? 'full' : 'anonymous');
  const noSuggestions = <T>(result: T): T =>
    result && typeof result === 'object' && 'errors' in result && Array.isArray(result.errors) ? { ...result, errors: withoutSuggestions(result.errors) } : result;
  return {
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => {
        try {
          return parseFn(source, off(limits.maxTokens) ? options : { ...options, maxTokens: limits.maxTokens });
        } catch (error) {
          // graphql-js stops lexing past maxTokens with a syntax error that says so.
          if (error instanceof Error && /Document contains more th(?:at|an) \d+ tokens/.test(error.message)) {
            throw new GraphQLError(`Query has more than ${limits.maxTokens} tokens`, { extensions: { code: LIMIT_CODE, limit: 'maxTokens' } });
          }
          // graphql-js parses recursively: ~2,000 nested list values (well within maxTokens) overflow the stack.
          if (error instanceof RangeError) {
            throw new GraphQLError('Query is nested too deeply to parse', { extensions: { code: LIMIT_CODE, limit: 'nesting' } });
          }
          throw error;
        }
      });
    },
    onValidate({ context, validateFn, setValidationFn, addValidationRule }) {
      const view = views[viewOf(context)];
      addValidationRule(view.cacheKey);
      // The view's rules, not the ones given (its cache key, and the specified rules the view wraps).
      setValidationFn((schema, document, _rules, ...rest) => validateFn(schema, document, view.rules, ...rest));
    },
    onExecute({ args }) {
      if (viewOf(args.contextValue) === 'full') return;
      return {
        onExecuteDone({ result, setResult }) {
          setResult(noSuggestions(result));
        },
      };
    },
    onSubscribe({ args }) {
      if (viewOf(args.contextValue) === 'full') return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) setResult(noSuggestions(result));
        },
      };
    },
  };
}
