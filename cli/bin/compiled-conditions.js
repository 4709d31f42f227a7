// Module hook: the workspaces' "sm2ca-compiled" export points at their dist/ JavaScript.
export async function resolve(specifier, context, nextResolve) {
  return nextResolve(specifier, { ...context, conditions: [...context.conditions, 'sm2ca-compiled'] });
}
