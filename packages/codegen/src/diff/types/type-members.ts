import ts from "typescript";

/**
 * The members of each operation's generated type, flattened to one line each:
 * `responses.200.content["application/json"].items[].state` -> `: "active" | "archived"`.
 * References to `components` are expanded in place, so a change inside a shared schema shows
 * under every operation that uses it, as a reviewer of that operation needs it.
 */
export type OperationMembers = Map<string, Map<string, string>>;

/** Shown for a member that is an object: its own members follow as further lines. */
export const OBJECT = "{…}";

/** A member relative to the type it belongs to (`suffix` "" is the type itself) and its text. */
type Entry = readonly [suffix: string, text: string];

interface Flattened {
  entries: Entry[];
  /** Components met again while being expanded, and so shown as `(recursive)`. */
  cycles: Set<string>;
}

export function operationMembers(typesSource: string): OperationMembers {
  const file = ts.createSourceFile("types.ts", typesSource, ts.ScriptTarget.Latest, false);
  const flattener = new Flattener(componentTypes(file), file);
  const operations: OperationMembers = new Map();
  for (const [operationId, type] of interfaceMembers(file, "operations")) {
    // The operation itself (suffix "") is not a member; its members' paths start with a name.
    const { entries } = flattener.flatten(type, "", []);
    const members = entries.flatMap(([suffix, text]): [string, string][] =>
      suffix === "" ? [] : [[suffix.replace(/^\./, ""), text]],
    );
    operations.set(operationId, new Map(members));
  }
  return operations;
}

class Flattener {
  private readonly printer = ts.createPrinter({ removeComments: true });
  private readonly printed = new Map<ts.Node, string>();
  /**
   * Each component is flattened once, not once per operation that uses it: the control spec's
   * error responses alone appear under every operation. A component whose expansion was cut by a
   * cycle through another component depends on where it was met, so only components whose cycles
   * lead back to themselves (or none) are kept.
   */
  private readonly components = new Map<string, Flattened>();

  constructor(
    private readonly types: Map<string, ts.TypeNode>,
    private readonly file: ts.SourceFile,
  ) {}

  /** `type` as entries relative to it; `marker` is `: ` or `?: `, `expanding` the components open. */
  flatten(type: ts.TypeNode, marker: string, expanding: string[]): Flattened {
    if (ts.isParenthesizedTypeNode(type)) return this.flatten(type.type, marker, expanding);
    const component = this.componentOf(type);
    if (component !== undefined) return this.flattenComponent(component, marker, expanding);
    const out: Flattened = { entries: [], cycles: new Set() };
    const add = (prefix: string, inner: Flattened) => {
      for (const [suffix, text] of inner.entries) out.entries.push([prefix + suffix, text]);
      for (const cycle of inner.cycles) out.cycles.add(cycle);
    };
    if (ts.isTypeLiteralNode(type)) {
      out.entries.push(["", `${marker}${OBJECT}`]);
      this.flattenMembers(type.members, expanding, add);
    } else if (ts.isIntersectionTypeNode(type)) {
      out.entries.push(["", `${marker}${OBJECT}`]);
      // The members of each part land on the intersection's own path.
      for (const part of type.types) {
        const inner = this.flatten(part, marker, expanding);
        add("", {
          entries: inner.entries.filter(([suffix]) => suffix !== ""),
          cycles: inner.cycles,
        });
      }
    } else if (ts.isArrayTypeNode(type) && this.isExpandable(type.elementType)) {
      out.entries.push(["", `${marker}array`]);
      add("[]", this.flatten(type.elementType, ": ", expanding));
    } else if (ts.isUnionTypeNode(type) && type.types.some((part) => this.isExpandable(part))) {
      out.entries.push(["", `${marker}${this.print(type)}`]);
      type.types.forEach((part, index) => {
        if (!this.isExpandable(part)) return;
        const name = this.componentOf(part)?.split(".").pop() ?? `#${index}`;
        add(`|${name}`, this.flatten(part, ": ", expanding));
      });
    } else {
      out.entries.push(["", `${marker}${this.print(type)}`]);
    }
    return out;
  }

  private flattenComponent(component: string, marker: string, expanding: string[]): Flattened {
    const target = this.types.get(component);
    if (!target || expanding.includes(component)) {
      return {
        entries: [["", `${marker}${component}${target ? " (recursive)" : ""}`]],
        cycles: new Set(target ? [component] : []),
      };
    }
    let flattened = this.components.get(component);
    if (!flattened) {
      flattened = this.flatten(target, "", [...expanding, component]);
      flattened.cycles.delete(component);
      if (flattened.cycles.size === 0) this.components.set(component, flattened);
    }
    // The component's own line carries the marker of the member it is used by.
    const [[, own], ...rest] = flattened.entries;
    return { entries: [["", `${marker}${own}`], ...rest], cycles: flattened.cycles };
  }

  private flattenMembers(
    members: ts.NodeArray<ts.TypeElement>,
    expanding: string[],
    add: (prefix: string, inner: Flattened) => void,
  ): void {
    for (const member of members) {
      if (ts.isPropertySignature(member) && member.type) {
        const marker = member.questionToken ? "?: " : ": ";
        add(memberSegment(memberName(member.name)), this.flatten(member.type, marker, expanding));
      } else if (ts.isIndexSignatureDeclaration(member)) {
        add(`[${this.print(member.parameters[0])}]`, this.flatten(member.type, ": ", expanding));
      }
    }
  }

  private isExpandable(type: ts.TypeNode): boolean {
    if (ts.isParenthesizedTypeNode(type)) return this.isExpandable(type.type);
    return (
      ts.isTypeLiteralNode(type) ||
      ts.isIntersectionTypeNode(type) ||
      this.componentOf(type) !== undefined
    );
  }

  /** `components["schemas"]["Item"]` -> `schemas.Item`. */
  private componentOf(type: ts.TypeNode): string | undefined {
    if (!ts.isIndexedAccessTypeNode(type)) return undefined;
    const outer = type.objectType;
    if (!ts.isIndexedAccessTypeNode(outer)) return undefined;
    const root = outer.objectType;
    if (!ts.isTypeReferenceNode(root) || !ts.isIdentifier(root.typeName)) return undefined;
    if (root.typeName.text !== "components") return undefined;
    const section = literalText(outer.indexType);
    const name = literalText(type.indexType);
    return section !== undefined && name !== undefined ? `${section}.${name}` : undefined;
  }

  private print(node: ts.Node): string {
    let text = this.printed.get(node);
    if (text === undefined) {
      text = this.printer
        .printNode(ts.EmitHint.Unspecified, node, this.file)
        .replace(/\s+/g, " ")
        .replace(/components\["(\w+)"\]\["([^"]+)"\]/g, "$2");
      this.printed.set(node, text);
    }
    return text;
  }
}

/** `components.schemas.Item` and friends, keyed `schemas.Item`. */
function componentTypes(file: ts.SourceFile): Map<string, ts.TypeNode> {
  const types = new Map<string, ts.TypeNode>();
  for (const [section, type] of interfaceMembers(file, "components")) {
    if (!ts.isTypeLiteralNode(type)) continue;
    for (const member of type.members) {
      if (ts.isPropertySignature(member) && member.type)
        types.set(`${section}.${memberName(member.name)}`, member.type);
    }
  }
  return types;
}

function interfaceMembers(file: ts.SourceFile, name: string): [string, ts.TypeNode][] {
  const declaration = file.statements.find(
    (statement): statement is ts.InterfaceDeclaration =>
      ts.isInterfaceDeclaration(statement) && statement.name.text === name,
  );
  if (!declaration) return [];
  return declaration.members.flatMap((member) =>
    ts.isPropertySignature(member) && member.type ? [[memberName(member.name), member.type]] : [],
  );
}

function memberName(name: ts.PropertyName): string {
  // openapi-typescript writes no computed property names.
  return "text" in name ? name.text : "[computed]";
}

function literalText(type: ts.TypeNode): string | undefined {
  if (ts.isLiteralTypeNode(type) && ts.isStringLiteral(type.literal)) return type.literal.text;
  return undefined;
}

/** `.name`, or `["application/json"]` for a name that is not an identifier. */
function memberSegment(name: string): string {
  return /^[A-Za-z_$][\w$]*$|^\d+$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}
