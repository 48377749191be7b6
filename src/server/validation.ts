import { GraphQLError, NoSchemaIntrospectionCustomRule, specifiedRules, type ValidationContext, type ValidationRule } from 'graphql';
import { ProvidedRequiredArgumentsRule, ValuesOfCorrectTypeRule, VariablesInAllowedPositionRule } from 'graphql';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import type { Plugin } from 'graphql-yoga';
import type { Limits } from '../config.js';

export const LIMIT_CODE = 'QUERY_LIMIT_EXCEEDED';
const VALUE_RULES = new Set<ValidationRule>([ValuesOfCorrectTypeRule, ProvidedRequiredArgumentsRule, VariablesInAllowedPositionRule]);
const SUGGESTION = / ?Did you mean .+\?$/;

/** Reports a rule's errors with `code` (and without "Did you mean" hints when asked). */
function coded(rule: ValidationRule, code: string, hideSuggestions: boolean): ValidationRule {
  return (context) => {
    const view = Object.create(context) as typeof context;
    view.reportError = (error: GraphQLError) => {
      const message = hideSuggestions ? error.message.replace(SUGGESTION, '') : error.message;
      context.reportError(new GraphQLError(message, { nodes: error.nodes, extensions: { ...error.extensions, code: error.extensions.code ?? code } }));
    };
    return rule(view);
  };
}

export interface ValidationPolicy {
  limits: Limits;
  introspection: boolean;
}

/**
 * The validation every operation passes, over HTTP, SSE and graphql-ws:
 * graphql-js's rules (a bad argument value is BAD_USER_INPUT, anything else
 * GRAPHQL_VALIDATION_FAILED), the size limits (QUERY_LIMIT_EXCEEDED), and,
 * with introspection off, no schema queries and no field suggestions
 * (INTROSPECTION_DISABLED).
 */
export function useValidationPolicy({ limits, introspection }: ValidationPolicy): Plugin {
  const hide = !introspection;
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
    ...(off(limits.maxCost) ? [] : [costLimitRule({ ...armor, maxCost: limits.maxCost, ignoreIntrospection: true })]),
  ];
  const extraRules: ValidationRule[] = [
    ...limitRules.map((rule) => coded(rule, LIMIT_CODE, hide)),
    ...(introspection ? [] : [coded(NoSchemaIntrospectionCustomRule, 'INTROSPECTION_DISABLED', hide)]),
  ];
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
    onValidate({ validateFn, setValidationFn }) {
      setValidationFn((schema, document, rules, ...rest) =>
        validateFn(
          schema,
          document,
          [
            ...(rules ?? specifiedRules).map((rule: ValidationRule) =>
              coded(rule, VALUE_RULES.has(rule) ? 'BAD_USER_INPUT' : 'GRAPHQL_VALIDATION_FAILED', hide),
            ),
            ...extraRules,
          ],
          ...rest,
        ),
      );
    },
  };
}
