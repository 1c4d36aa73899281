"""References and expressions in keyword values (docs/agent-reference.md §1.7).

    {name}            resolved by the caller's `resolve(name)`: builtins, DEFAULT keys, section.key, env.KEY
    {#name}           number of whitespace-separated words of {name}
    {name[i]}         i-th word of {name}; i may hold references and $(expressions)
    $(expr)           arithmetic: numbers, + - * / // % ** and unary +/- only, parsed with `ast` (never eval)

Nested forms are expanded innermost first, so `{nodes[$(0//(3//{#nodes}))]}` works. This module knows no
config: the caller supplies `resolve(name) -> str` and raises Unresolved for names it does not know.
"""

import re


class RefError(Exception):
    """A reference or expression that cannot be expanded; str() is the message for the operator."""


class Unresolved(RefError):
    def __init__(self, ref: str, why: str = ""):
        self.ref = ref
        super().__init__(f"{{{ref}}}: unresolved reference" + (f" ({why})" if why else ""))


class ReferenceLoop(RefError):
    def __init__(self, chain):
        self.chain = list(chain)
        super().__init__("reference loop: " + " -> ".join(self.chain))


class BadExpression(RefError):
    pass


# As text: re compiles it on the first reference (every action imports this module; few env files refer).
_INDEXED = r"^(?P<name>[^\[\]]+)\[(?P<index>[^\[\]]*)\]$"
# Bounds of the work one value may cost (issue 17 item 7): every command reads the env file, so a runaway
# expression (`$(((9**1024)**1024)**1024)`) or a reference bomb (`a = {b}{b}`, `b = {c}{c}`...) would hang them
# all. No legitimate value comes near these.
_MAX_POWER = 1024        # |exponent| of **
_MAX_BITS = 1024         # integers: 1024 bits, 309 decimal digits (operands, and every intermediate result)
_MAX_EXPR = 1000         # characters of one $( ) expression, after its references are expanded
_MAX_DEPTH = 100         # nesting of an expression's syntax tree (5000 unary minus: a RecursionError)
MAX_EXPANDED = 1 << 20   # characters of one expanded value (1 MiB)


def expand(text: str, resolve, tolerate: bool = False) -> str:
    """Expand every reference and expression of `text`.

    tolerate=True leaves unresolved references and non-arithmetic $( ) verbatim (trigger commands
    may hold shell braces and command substitutions)."""
    if "{" not in text and "$(" not in text:
        return text
    out, _ = _expand(text, 0, None, resolve, tolerate)
    if len(out) > MAX_EXPANDED:
        raise BadExpression(f"the value expands to {len(out)} characters (at most {MAX_EXPANDED}): "
                            f"references nested too deep?")
    return out


def _expand(text, pos, closer, resolve, tolerate):
    """Expand text[pos:] up to the `closer` character (None: the end). -> (expanded, index after closer)."""
    out = []
    size = 0    # characters the references added (a reference bomb stops at MAX_EXPANDED)
    depth = 0   # plain parentheses inside $( ... ), so the right ')' closes the expression
    n = len(text)
    while pos < n:
        ch = text[pos]
        if closer == ")" and ch == "(":
            depth += 1
        elif ch == closer and depth == 0:
            return "".join(out), pos + 1
        elif closer == ")" and ch == ")":
            depth -= 1
        if ch == "{" and _has_closing(text, pos):
            body, pos = _expand(text, pos + 1, "}", resolve, tolerate)
            out.append(_reference(body, resolve, tolerate))
            size += len(out[-1])
            if size > MAX_EXPANDED:
                raise BadExpression(f"the value expands to more than {MAX_EXPANDED} characters: "
                                    f"references nested too deep?")
            continue
        if text.startswith("$(", pos) and _has_closing_paren(text, pos + 2):
            body, pos = _expand(text, pos + 2, ")", resolve, tolerate)
            out.append(_expression(body, tolerate))
            continue
        out.append(ch)
        pos += 1
    if closer is None:
        return "".join(out), pos
    raise BadExpression(f"unterminated '{closer}' in {text!r}")


def _has_closing(text, pos):
    """A '{' opens a reference only when a matching '}' follows and the braces hold something."""
    depth = 0
    for i in range(pos, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i > pos + 1
    return False


def _has_closing_paren(text, pos):
    depth = 1
    for i in range(pos, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return True
    return False


def _expression(body, tolerate):
    """$(body): its value; with tolerate, a body that is not arithmetic stays as written (a shell
    command substitution in a trigger: `pre_start = sh -c 'echo $(date) >> /var/log/x'`)."""
    try:
        return _number(evaluate(body))
    except BadExpression:
        if tolerate:
            return f"$({body})"
        raise


def _reference(body, resolve, tolerate):
    try:
        return _lookup(body.strip(), resolve)
    except Unresolved:
        if tolerate:
            return "{" + body + "}"
        raise


def _lookup(body, resolve):
    if body.startswith("#"):
        return str(len(resolve(body[1:]).split()))
    m = re.match(_INDEXED, body)
    if m:
        name, index = m.group("name"), m.group("index").strip()
        try:
            i = int(index) if re.fullmatch(r"-?\d+", index) else evaluate(index)
        except BadExpression as exc:
            raise BadExpression(f"{{{body}}}: bad index: {exc}") from None
        if not isinstance(i, int) and not (isinstance(i, float) and i.is_integer()):
            raise BadExpression(f"{{{body}}}: index {i} is not an integer")
        words = resolve(name).split()
        i = int(i)
        if not -len(words) <= i < len(words):
            raise BadExpression(f"{{{body}}}: index {i} out of range ({name} has {len(words)} words)")
        return words[i]
    return resolve(body)


# ---- safe arithmetic ----------------------------------------------------------------------------------------

def evaluate(expr: str):
    """The value of an arithmetic expression: numbers and + - * / // % ** and unary + -, nothing else.

    Bounded (BadExpression past a bound): the text (_MAX_EXPR), the syntax tree's depth (_MAX_DEPTH), every
    exponent (_MAX_POWER) and every integer, written or computed (_MAX_BITS): at worst a few ms."""
    import ast
    import operator

    binops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
              ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
    unops = {ast.UAdd: operator.pos, ast.USub: operator.neg}
    shown = expr.strip() if len(expr.strip()) <= 60 else expr.strip()[:57] + "..."

    def bounded(value):
        if isinstance(value, int) and value.bit_length() > _MAX_BITS:
            raise BadExpression(f"$({shown}): number too large (more than {_MAX_BITS} bits, about "
                                f"{int(_MAX_BITS * 0.30103)} digits)")
        return value

    def power(left, right):
        if abs(right) > _MAX_POWER:
            raise BadExpression(f"$({shown}): exponent {right} too large (at most {_MAX_POWER})")
        if isinstance(left, int) and isinstance(right, int) and right > 0 \
                and (abs(left).bit_length() - 1) * right > _MAX_BITS:
            raise BadExpression(f"$({shown}): number too large (more than {_MAX_BITS} bits, about "
                                f"{int(_MAX_BITS * 0.30103)} digits)")
        return left ** right

    def walk(node, depth=0):
        if depth > _MAX_DEPTH:
            raise BadExpression(f"$({shown}): too complex (more than {_MAX_DEPTH} nested operations)")
        if isinstance(node, ast.Expression):
            return walk(node.body, depth + 1)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return bounded(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in binops:
            left, right = walk(node.left, depth + 1), walk(node.right, depth + 1)
            if isinstance(node.op, ast.Pow):
                return bounded(power(left, right))
            return bounded(binops[type(node.op)](left, right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in unops:
            return unops[type(node.op)](walk(node.operand, depth + 1))
        raise BadExpression(f"$({shown}): only numbers and + - * / // % ** are allowed")

    if len(expr.strip()) > _MAX_EXPR:
        raise BadExpression(f"$({shown}): expression too long ({len(expr.strip())} characters, at most "
                            f"{_MAX_EXPR})")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        raise BadExpression(f"$({shown}): not an arithmetic expression") from None
    except (RecursionError, MemoryError, ValueError):
        raise BadExpression(f"$({shown}): expression too complex") from None
    try:
        return walk(tree)
    except ZeroDivisionError:
        raise BadExpression(f"$({shown}): division by zero") from None
    except RecursionError:
        raise BadExpression(f"$({shown}): expression too complex") from None
    except (OverflowError, ValueError) as exc:
        raise BadExpression(f"$({shown}): {exc}") from None


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return str(int(value))
    return str(value)
