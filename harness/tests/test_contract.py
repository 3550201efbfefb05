"""tracenic.contract reads include/tracenic/*.h as the C compiler does.

Every constant, enum member, table entry, macro and struct member offset the
parser finds is compared with what gcc says about the same headers; a header
it cannot read fails with the file and line.
"""
import subprocess

import pytest

from tracenic import contract, paths


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """{key: text} printed by a C program that includes every contract header."""
    h = contract._headers()
    lines = []
    for name, v in sorted(h.all_values().items()):
        if isinstance(v, str):
            lines.append(f'printf("%s=%s\\n", "{name}", {name});')
        elif v < 0:
            lines.append(f'printf("%s=%lld\\n", "{name}", (long long)({name}));')
        else:   # unsigned: all 64 bits (TN_DMA_MAPPING_ERROR)
            lines.append(f'printf("%s=%llu\\n", "{name}", (unsigned long long)({name}));')
    for func, entries in sorted(h.all_tables().items()):
        for k, v in sorted(entries.items()):
            if func == "tn_rule_info":
                lines.append(f'printf("{func}[{k}]=%s|%s\\n", {func}({k}).name, '
                             f'{func}({k}).summary);')
            elif isinstance(v, str):
                lines.append(f'printf("{func}[{k}]=%s\\n", {func}({k}));')
            else:
                lines.append(f'printf("{func}[{k}]=%lld\\n", (long long){func}({k}));')
    for struct in sorted(n for n, f in h.structs.items() if f):
        for member in contract.layout(struct):
            lines.append(f'printf("{struct}.{member}=%zu\\n", offsetof(struct {struct}, '
                         f'{member}));')
    lines.append('printf("TN_LG_INFO_PACK(3,2,1)=%lld\\n", (long long)TN_LG_INFO_PACK(3, 2, 1));')
    includes = "".join(f'#include "tracenic/{p.name}"\n' for p in sorted(paths.INCLUDE.glob("*.h")))
    src = ("#include <stddef.h>\n#include <stdio.h>\n" + includes +
           "int main(void)\n{\n" + "\n".join(lines) + "\nreturn 0;\n}\n")
    d = tmp_path_factory.mktemp("contract")
    (d / "dump.c").write_text(src)
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", "-Wno-unused-function",
                    f"-I{paths.INCLUDE.parent}", "-o", str(d / "dump"), str(d / "dump.c")],
                   check=True)
    out = subprocess.run([str(d / "dump")], capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def test_every_constant_and_enum_member_is_what_gcc_says(compiled):
    h = contract._headers()
    assert len(h.all_values()) > 150   # regs, ledger, trace, rules: all of them were read
    for name, v in h.all_values().items():
        assert compiled[name] == str(v), name
    assert contract.const("TN_TRACE_REC_SIZE") == int(compiled["TN_TRACE_REC_SIZE"])
    assert contract.C.TN_RULE_COUNT == int(compiled["TN_RULE_COUNT"])   # an implicit member


def test_every_table_entry_is_what_gcc_says(compiled):
    h = contract._headers()
    assert {"tn_cause_name", "tn_rec_type_name", "tn_rule_info",
            "tn_ledger_cmd_reads"} <= set(h.all_tables())
    for func, entries in h.all_tables().items():
        for k, v in entries.items():
            want = "|".join(v) if isinstance(v, tuple) else str(v)
            assert compiled[f"{func}[{k}]"] == want, (func, k)
    assert contract.value_of("tn_cause_name", "tx-desc-read") == \
        contract.C.TN_CAUSE_TX_DESC_READ
    assert set(contract.rules()) == contract.rule_names() and len(contract.rules()) == \
        contract.C.TN_RULE_COUNT - 1


def test_macros_and_struct_layouts_are_what_gcc_says(compiled):
    assert str(contract.macro("TN_LG_INFO_PACK", 3, 2, 1)) == compiled["TN_LG_INFO_PACK(3,2,1)"]
    for struct in ("tn_rec", "tn_trace_header", "tn_desc"):
        for member, (offset, _) in contract.layout(struct).items():
            assert compiled[f"{struct}.{member}"] == str(offset), (struct, member)
    assert "type" in contract.layout("tn_rec") and "u" not in contract.layout("tn_rec")


@pytest.mark.parametrize("text, message", [
    ("#define TN_GOOD 1\n\n#define TN_BAD (TN_GOOD +)\n",
     "bad.h:3: cannot read TN_BAD = '(TN_GOOD +)' as an integer expression"),
    ("/* a comment\n   over two lines */\n#define TN_X TN_NOWHERE\n",
     "bad.h:3: cannot read TN_X = 'TN_NOWHERE' as an integer expression: TN_NOWHERE is not "
     "a constant"),
    ("enum e {\n\tTN_A = 1,\n\tTN_B = 2 +,\n};\n", "bad.h:3: cannot read TN_B"),
    ("#define TN_EMPTY\n", "bad.h:1: #define TN_EMPTY has no value"),
    ("#define TN_A 1\n#define TN_A 2\n", "bad.h:2: TN_A is defined again"),
    ("static inline const char *f(unsigned int v)\n{\n\tstatic const char *const n[] = {\n"
     "\t\t[TN_NOPE] = \"x\",\n\t};\n\treturn n[v];\n}\n",
     "bad.h:4: cannot read the index [TN_NOPE] of f's table"),
])
def test_a_header_it_cannot_read_names_file_and_line(tmp_path, text, message):
    (tmp_path / "bad.h").write_text(text)
    with pytest.raises(contract.ContractError) as e:
        h = contract._headers(tmp_path)
        h.all_values()
        h.all_tables()
    assert message in str(e.value) and str(tmp_path / "bad.h") in str(e.value), str(e.value)


def test_unknown_names_are_clear_errors():
    with pytest.raises(contract.ContractError, match="TN_NO_SUCH is not defined"):
        contract.const("TN_NO_SUCH")
    with pytest.raises(contract.ContractError, match="no function tn_nothing_name"):
        contract.table("tn_nothing_name")


def test_one_unreadable_define_leaves_the_others_readable(tmp_path):
    (tmp_path / "a.h").write_text("#define TN_GOOD (1u << 4)\n#define TN_ODD sizeof(int)\n")
    assert contract.const("TN_GOOD", tmp_path) == 16
    with pytest.raises(contract.ContractError, match=r"a\.h:2: cannot read TN_ODD"):
        contract.const("TN_ODD", tmp_path)
