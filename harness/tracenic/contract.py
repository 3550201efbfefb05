"""The contract's constants and name tables, read from include/tracenic/*.h.

Python never writes a register offset, a command number or a record type
by hand: it asks this module, which parses the headers the device, the
driver and dmacheck compile.  It reads

  - object-like `#define TN_NAME <integer expression | "string">`, and
    function-like TN_ macros over integers (macro()),
  - enum members (an explicit `= <expression>`, else the previous plus one),
  - the designated-initializer tables inside the headers' static inline
    functions, e.g. names.h's `[TN_CAUSE_TX_DESC_READ] = "tx-desc-read"`,
    rules.h's `[TN_RULE_LEAK] = { "leak", "an allocation ..." }` and
    ledger.h's `[TN_LG_CMD_MAP] = TN_LGR_ID | ...`,
  - the leading fixed-width members of `struct tn_*` (layout(), field()),

and fails with the header and line of anything of that shape it cannot read.

    const("TN_LG_CMD")                  -> the ledger command register's BAR0 offset
    C.TN_LG_CMD                         -> the same, as an attribute
    table("tn_cause_name")              -> {1: "tx-desc-read", ...}
    layout("tn_rec")                    -> {"time_ns": (0, "<Q"), "type": (8, "<B"), ...}
    rules()                             -> {"dma-after-free": "the device accessed ...", ...}

Parsed once per process (the headers do not change while it runs); a value is
computed when first asked for.
"""
import ast
import functools
import re
import struct as _struct
from pathlib import Path

from . import paths


class ContractError(Exception):
    """A header holds something of a shape this parser reads that it cannot read."""


_INT = re.compile(r"\b(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*\b")
_CAST = re.compile(r"\(\s*(?:u?int(?:8|16|32|64)_t|unsigned(?:\s+(?:int|long))*|int|long)\s*\)")
_STRINGS = re.compile(r'^\s*((?:"(?:[^"\\]|\\.)*"\s*)+)$', re.S)
_OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
        ast.Mult: lambda a, b: a * b, ast.FloorDiv: lambda a, b: a // b,
        ast.Mod: lambda a, b: a % b, ast.LShift: lambda a, b: a << b,
        ast.RShift: lambda a, b: a >> b, ast.BitOr: lambda a, b: a | b,
        ast.BitAnd: lambda a, b: a & b, ast.BitXor: lambda a, b: a ^ b}
_UNARY = {ast.USub: lambda a: -a, ast.UAdd: lambda a: a, ast.Invert: lambda a: ~a}


def _strip_comments(text: str) -> str:
    """Comments and string contents kept apart: comments become spaces, line breaks stay."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif text[i] == '"':
            m = re.compile(r'"(?:[^"\\\n]|\\.)*"').match(text, i)
            end = m.end() if m else i + 1
            out.append(text[i:end])
            i = end
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _string_value(literals: str) -> str:
    """Adjacent C string literals as one Python string."""
    return "".join(ast.literal_eval(s) for s in re.findall(r'"(?:[^"\\]|\\.)*"', literals))


class _Headers:
    def __init__(self, directory: Path):
        self.raw: dict[str, tuple[str, Path, int]] = {}        # name -> (expression, where)
        self.values: dict[str, int | str] = {}
        self.tables: dict[str, dict[int, object]] = {}
        self._raw_tables: dict[str, list[tuple[str, object, Path, int]]] = {}
        self.macros: dict[str, tuple[list[str], str, Path, int]] = {}
        self.structs: dict[str, list[tuple[str, str, str, Path, int]]] = {}
        headers = sorted(directory.glob("*.h"))
        if not headers:
            raise ContractError(f"{directory}: no contract headers (*.h) here")
        for h in headers:
            self._read(h)

    # Values are computed when first asked for: a new define of another shape in one
    # header does not stop the harness from reading the rest (test_contract reads all).
    def table(self, func: str) -> dict[int, object]:
        if func not in self.tables:
            out = {}
            for key, value, h, line in self._raw_tables[func]:
                index = self._eval(key, h, line, f"the index [{key}] of {func}'s table")
                if isinstance(value, str) and not _STRINGS.match(value):
                    value = self._eval(value, h, line, f"[{key}] of {func}'s table")
                elif isinstance(value, str):
                    value = _string_value(value)
                out[index] = value
            self.tables[func] = out
        return self.tables[func]

    def all_values(self) -> dict[str, int | str]:
        return {name: self.value(name) for name in self.raw}

    def all_tables(self) -> dict[str, dict[int, object]]:
        return {func: self.table(func) for func in self._raw_tables}

    # ---- reading -----------------------------------------------------------------------
    def _read(self, h: Path) -> None:
        text = _strip_comments(h.read_text())
        self._defines(h, text)
        for m in re.finditer(r"\benum\s+\w*\s*\{(.*?)\}", text, re.S):
            self._enum(h, text, m)
        for m in re.finditer(r"\bstruct\s+(tn_\w+)\s*\{", text):
            self._struct(h, text, m.group(1), m.end())
        for m in re.finditer(r"\bstatic\s+inline\b[^;{]*?\b(\w+)\s*\([^;{]*?\)\s*\{", text):
            self._function_tables(h, text, m.group(1), m.end())

    def _defines(self, h: Path, text: str) -> None:
        lines = text.split("\n")
        i = 0
        while i < len(lines):
            start, line = i, lines[i]
            while line.endswith("\\") and i + 1 < len(lines):
                i += 1
                line = line[:-1] + " " + lines[i]
            i += 1
            m = re.match(r"\s*#\s*define\s+(TN_\w+)(?:\(([^)]*)\))?(.*)$", line)
            if not m:
                continue            # not ours
            name, body = m.group(1), m.group(3).strip()
            if m.group(2) is not None:      # function-like: evaluated when called
                self.macros[name] = ([p.strip() for p in m.group(2).split(",")], body, h,
                                     start + 1)
                continue
            self._define(name, body, h, start + 1)

    def _define(self, name: str, expr: str, h: Path, line: int) -> None:
        if name in self.raw and self.raw[name][0] != expr:     # C allows the same again
            where = self.raw[name]
            raise ContractError(f"{h}:{line}: {name} is defined again (first at "
                                f"{where[1]}:{where[2]})")
        self.raw[name] = (expr, h, line)

    def _enum(self, h: Path, text: str, m: re.Match) -> None:
        body_start = m.start(1)
        prev = None
        for item in re.finditer(r"[^,]+", m.group(1)):
            member = item.group(0).strip()
            if not member:
                continue
            line = text.count("\n", 0, body_start + item.start() + len(item.group(0)) -
                              len(item.group(0).lstrip())) + 1
            mm = re.fullmatch(r"([A-Za-z_]\w*)\s*(?:=\s*(.+))?", member, re.S)
            if not mm:
                raise ContractError(f"{h}:{line}: cannot read the enum member {member!r}; "
                                    "contract.py reads NAME or NAME = <integer expression>")
            expr = mm.group(2) or (f"({prev}) + 1" if prev else "0")
            self._define(mm.group(1), expr.strip(), h, line)
            prev = mm.group(1)

    def _struct(self, h: Path, text: str, name: str, body: int) -> None:
        """The leading plain members of struct @name: fixed-width integers, char and
        arrays of them, up to the first other member (tn_rec's payload union)."""
        fields = []
        for m in re.finditer(r"([^;{}]*)([;{}])", text[body:]):
            if m.group(2) != ";":
                break
            decl = " ".join(m.group(1).split())
            line = text.count("\n", 0, body + m.start()) + 1
            dm = re.fullmatch(r"(u?int(?:8|16|32|64)_t|char)\s+(\w+)\s*(?:\[\s*([^\]]+)\])?",
                              decl)
            if not dm:
                break               # e.g. "unsigned int", a pointer: not a wire layout
            fields.append((dm.group(2), dm.group(1), dm.group(3) or "", h, line))
        self.structs[name] = fields

    def _function_tables(self, h: Path, text: str, func: str, body: int) -> None:
        depth, i = 1, body
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        # A designated initializer follows "{" or ","; "info[N] = {" declares an array.
        for m in re.finditer(r"(?<=[{,])\s*\[\s*([^\]\[]+?)\s*\]\s*=\s*", text[body:i]):
            start = body + m.end()
            line = text.count("\n", 0, body + m.start() + m.group(0).index("[")) + 1
            if text[start] == "{":
                end = text.index("}", start)
                inner = text[start + 1:end]
                parts = [p for p in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", inner)
                         if p.strip()]
                if not all(_STRINGS.match(p) for p in parts):
                    raise ContractError(f"{h}:{line}: [{m.group(1)}] of {func}'s table: "
                                        "contract.py reads { \"string\", ... } entries only")
                value = tuple(_string_value(p) for p in parts)
            else:
                end, depth2 = start, 0
                while end < i and not (depth2 == 0 and text[end] in ",}"):
                    if text[end] == '"':
                        end = text.index('"', end + 1)
                    depth2 += {"(": 1, ")": -1}.get(text[end], 0)
                    end += 1
                value = text[start:end].strip()
            self._raw_tables.setdefault(func, []).append((m.group(1), value, h, line))

    # ---- evaluating --------------------------------------------------------------------
    def value(self, name: str, _seen=()):
        if name in self.values:
            return self.values[name]
        if name not in self.raw:
            raise KeyError(name)
        expr, h, line = self.raw[name]
        if name in _seen:
            raise ContractError(f"{h}:{line}: {name} is defined in terms of itself")
        if not expr:
            raise ContractError(f"{h}:{line}: #define {name} has no value; contract.py reads "
                                "integer expressions and strings")
        if _STRINGS.match(expr):
            v = _string_value(expr)
        else:
            v = self._eval(expr, h, line, name, _seen + (name,))
        self.values[name] = v
        return v

    def _eval(self, expr: str, h: Path, line: int, what: str, seen=()):
        expr = " ".join(expr.split())
        py = _CAST.sub("", expr)        # integer casts change nothing in these values
        py = _INT.sub(lambda m: str(int(m.group(1), 0)), py)
        py = py.replace("/", "//").replace("||", " or ").replace("&&", " and ")

        def bad(why):
            return ContractError(f"{h}:{line}: cannot read {what} = {expr!r} as an "
                                 f"integer expression: {why}")
        try:
            tree = ast.parse(py.strip(), mode="eval")
        except SyntaxError:
            raise bad("it is not C integer arithmetic (integers, TN_ names, + - * / % "
                      "<< >> | & ^ ~ and parentheses)") from None

        def ev(node):
            if isinstance(node, ast.Expression):
                return ev(node.body)
            if isinstance(node, ast.Constant) and isinstance(node.value, int):
                return node.value
            if isinstance(node, ast.Name):
                try:
                    v = self.value(node.id, seen)
                except KeyError:
                    raise bad(f"{node.id} is not a constant of the contract headers") from None
                if not isinstance(v, int):
                    raise bad(f"{node.id} is a string")
                return v
            if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
                return _OPS[type(node.op)](ev(node.left), ev(node.right))
            if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
                return _UNARY[type(node.op)](ev(node.operand))
            raise bad(f"{ast.unparse(node)!r} is not integer arithmetic")
        return ev(tree)


@functools.lru_cache(maxsize=None)
def _headers(directory: Path = paths.INCLUDE) -> _Headers:
    return _Headers(directory)


def const(name: str, directory: Path = paths.INCLUDE) -> int | str:
    """The value of a TN_ constant or enum member."""
    try:
        return _headers(directory).value(name)
    except KeyError:
        raise ContractError(f"{name} is not defined in {directory}/*.h") from None


def table(function: str, directory: Path = paths.INCLUDE) -> dict[int, object]:
    """The designated-initializer table inside @function: {index: value}."""
    h = _headers(directory)
    if function not in h._raw_tables:
        raise ContractError(f"{directory}/*.h: no function {function} with a table "
                            f"[INDEX] = VALUE (tables: {', '.join(sorted(h._raw_tables))})")
    return dict(h.table(function))


def value_of(function: str, name: str, directory: Path = paths.INCLUDE) -> int:
    """The value that @function's table names @name, e.g. ("tn_rec_type_name", "end") -> 18."""
    found = [k for k, v in table(function, directory).items() if v == name]
    if not found:
        raise ContractError(f"{function}'s table in {directory} has no entry {name!r}")
    return found[0]


_FORMATS = {"char": "s", "int8_t": "b", "uint8_t": "B", "int16_t": "h", "uint16_t": "H",
            "int32_t": "i", "uint32_t": "I", "int64_t": "q", "uint64_t": "Q"}


def layout(struct: str, directory: Path = paths.INCLUDE) -> dict[str, tuple[int, str]]:
    """The leading plain members of struct @struct: {member: (offset, struct-module
    format)}, little-endian, each at its natural alignment as the C compiler puts it;
    for tn_rec that is the common part before the payload union."""
    h = _headers(directory)
    if not h.structs.get(struct):
        raise ContractError(f"{directory}/*.h: no struct {struct} that starts with "
                            "fixed-width integer members")
    out, offset = {}, 0
    for name, ctype, count, where, line in h.structs[struct]:
        fmt = _FORMATS[ctype]
        size = {"s": 1, "b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "q": 8, "Q": 8}[fmt]
        offset = (offset + size - 1) // size * size
        n = h._eval(count, where, line, f"the length of {struct}.{name}") if count else 1
        out[name] = (offset, f"<{n}{fmt}" if count else f"<{fmt}")
        offset += size * n
    return out


def macro(name: str, *args: int, directory: Path = paths.INCLUDE) -> int:
    """A function-like TN_ macro applied to integers, e.g. macro("TN_LG_INFO_PACK", 3, 0, 1)."""
    h = _headers(directory)
    if name not in h.macros:
        raise ContractError(f"{name} is not a function-like macro in {directory}/*.h")
    params, body, where, line = h.macros[name]
    if len(args) != len(params):
        raise ContractError(f"{where}:{line}: {name} takes {len(params)} arguments, "
                            f"not {len(args)}")
    expr = body
    for p, a in zip(params, args):
        expr = re.sub(rf"\b{re.escape(p)}\b", f"({int(a)})", expr)
    return h._eval(expr, where, line, f"{name}{tuple(args)}")


def field(struct: str, data: bytes, member: str, base: int = 0, directory: Path = paths.INCLUDE):
    """Member @member of the struct @struct that starts at @base in @data."""
    offset, fmt = layout(struct, directory)[member]
    value = _struct.unpack_from(fmt, data, base + offset)
    return value[0] if len(value) == 1 else value


def struct_format(struct: str, directory: Path = paths.INCLUDE) -> str:
    """One struct-module format for the whole of a struct of plain members (e.g. tn_desc)."""
    return "<" + "".join(f[1:] for _, f in layout(struct, directory).values())


def rules(directory: Path = paths.INCLUDE) -> dict[str, str]:
    """Every rule of rules.h, in number order: {name: one-line summary}."""
    info = table("tn_rule_info", directory)
    return {info[k][0]: info[k][1] for k in sorted(info)}


def rule_names(directory: Path = paths.INCLUDE) -> set[str]:
    """The rule names scenario files may expect (rules.h, as dmacheck --list-rules prints)."""
    return set(rules(directory))


class _Constants:
    """C.TN_NAME: const("TN_NAME"), for code that uses many of them."""

    def __getattr__(self, name: str):
        if not name.startswith("TN_"):
            raise AttributeError(name)
        return const(name)


C = _Constants()
