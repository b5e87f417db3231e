declare module 'cfn-resolver-lib' {
  export default class NodeEvaluator {
    constructor(template: unknown, parameters?: Record<string, unknown>);
    evaluateNodes(parameters?: Record<string, unknown>): {
      Resources: Record<string, unknown>;
      Outputs?: Record<string, unknown>;
    };
  }
}
