"""The nightly report: summary.json, junit.xml and index.html in one directory.

Each scenario's artifacts are in <report>/<scenario>/ (names below); the
HTML links them and shows dmacheck's report inline.
"""
import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path

# file -> what the link says
ARTIFACTS = {
    "console.log": "serial console",
    "results.txt": "guest results",
    "dmacheck.txt": "dmacheck report",
    "dmacheck.json": "dmacheck JSON",
    "timeline.json": "Perfetto timeline",
    "trace.bin": "trace",
    "traffic.pcap": "pcap",
    "trafficgen.log": "RX flood log",
    "qemu-stderr.log": "QEMU log",
    "qemu-cmdline.txt": "QEMU command line",
    "domain.xml": "libvirt domain",
    "harness-error.txt": "harness error",
}
PERFETTO = "https://ui.perfetto.dev"
DMACHECK_INLINE_BYTES = 6000


def write(report_dir: Path, results: list[dict], meta: dict, sweep: dict | None = None) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    summary = {"meta": meta, "results": results,
               "passed": sum(r["ok"] for r in results),
               "failed": sum(not r["ok"] for r in results)}
    if sweep is not None:
        summary["sweep"] = sweep
    (report_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _junit(report_dir, results, summary)
    _html(report_dir, results, summary)


def add_sweep(report_dir: Path, sweep: dict) -> None:
    """The nightly's closing sweep (sweep.Sweep's summary, its findings in sweep/) joins
    the report written for the matrix."""
    summary = json.loads((report_dir / "summary.json").read_text())
    write(report_dir, summary["results"], summary["meta"], sweep)


def _sweep_html(sweep: dict | None) -> str:
    if sweep is None:
        return ""
    e = html.escape
    rows = []
    for f in sweep["findings"]:
        fp = f["fingerprint"]
        rows.append(
            f'<tr class="{"ok" if f["expected"] else "bad"}"><td>'
            f'<a href="sweep/findings/{e(f["id"])}/finding.json">{e(f["id"])}</a></td>'
            f'<td>{"seeded timing-only bug" if f["expected"] else "NEW"}</td>'
            f'<td>{e(fp["rule"])}</td><td>{e(fp["region"])}</td><td>{e(fp["alloc_site"])}</td>'
            f'<td>{e(fp["free_site"])}</td><td>{e(fp["cause"])}</td>'
            f'<td>{e(f["scenario"])} run {f["run"]}</td><td>{f["count"]}</td>'
            f'<td><a href="sweep/{e(f["first_run_dir"])}/dmacheck.txt">dmacheck</a> · '
            f'<a href="sweep/{e(f["first_run_dir"])}/sweep-schedule.txt">schedule</a></td></tr>')
    notes = "".join(f"<li>seeded, not found this time: {e(x)}</li>"
                    for x in sweep["seeded_not_found"])
    notes += "".join(f"<li>harness error: {e(x)}</li>" for x in sweep["harness_errors"])
    return (f'<section id="sweep"><h2>Race sweep: {len(sweep["findings"])} findings, '
            f'{sweep["unexpected"]} unexpected</h2>'
            f'<p>seed {sweep["seed"]} · {sweep["runs"]} runs in {sweep["seconds"]} s '
            f'({sweep["runs_per_minute"]}/min) over {len(sweep["scenarios"])} scenarios · '
            f're-run one: <code>tracenic-cli sweep --rerun &lt;report&gt;/sweep/findings/ID'
            f'</code></p>' + (f"<ul>{notes}</ul>" if notes else "") +
            "<table><tr><th>finding</th><th></th><th>rule</th><th>region</th>"
            "<th>allocated at</th><th>freed at</th><th>DMA cause</th><th>first seen</th>"
            "<th>runs</th><th></th></tr>" + "".join(rows) + "</table></section>")


def _junit(report_dir: Path, results: list[dict], summary: dict) -> None:
    suite = ET.Element("testsuite", name="tracenic-nightly", tests=str(len(results)),
                       failures=str(summary["failed"]), errors="0",
                       time=f"{summary['meta'].get('seconds', 0)}")
    for r in results:
        case = ET.SubElement(suite, "testcase", classname="tracenic.scenarios",
                             name=r["name"], time=f"{r['seconds']:.2f}")
        if not r["ok"]:
            ET.SubElement(case, "failure", message=r["why"]).text = r["why"]
        out = [f"expected: {', '.join(r['expected']) or 'clean'}",
               f"dmacheck: {r.get('said') or ', '.join(r['got']) or 'clean'}"]
        out += r.get("notes", [])
        out += [r["recorded"]["note"]] if r.get("recorded") else []
        out.append(_read(report_dir / r["name"] / "dmacheck.txt", DMACHECK_INLINE_BYTES))
        ET.SubElement(case, "system-out").text = "\n".join(out)
    ET.indent(suite)
    (report_dir / "junit.xml").write_text('<?xml version="1.0" encoding="UTF-8"?>\n' +
                                          ET.tostring(suite, encoding="unicode") + "\n")


def _read(path: Path, limit: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} more bytes]"


def _links(report_dir: Path, name: str) -> str:
    out = []
    for f, label in ARTIFACTS.items():
        if (report_dir / name / f).exists():
            out.append(f'<a href="{html.escape(name)}/{f}">{label}</a>')
    return " · ".join(out)


def _html(report_dir: Path, results: list[dict], summary: dict) -> None:
    e = html.escape
    meta = summary["meta"]
    rows, details = [], []
    for r in results:
        verdict = "PASS" if r["ok"] else "FAIL"
        rows.append(
            f'<tr class="{"ok" if r["ok"] else "bad"}"><td><a href="#{e(r["name"])}">'
            f'{e(r["name"])}</a></td><td>{e(r.get("machine", ""))}</td>'
            f'<td>{e(", ".join(r["expected"]) or "clean")}</td>'
            f'<td>{e(r.get("said") or ", ".join(r["got"]) or "clean")}</td>'
            f'<td>{verdict}{": " + e(r["why"]) if r["why"] else ""}</td>'
            f'<td>{r["seconds"]:.1f}</td></tr>')
        extra = "".join(f"<li>{e(n)}</li>" for n in r.get("notes", []) + r.get("failed_steps", []))
        if r.get("recorded"):
            rec = r["recorded"]
            link = (f' <a href="{e(rec["bundle"])}">record/replay bundle</a>'
                    if rec.get("bundle") else "")
            extra += f'<li class="{"" if rec.get("same") else "bad"}">{e(rec["note"])}{link}</li>'

        details.append(
            f'<section id="{e(r["name"])}"><h2>{e(r["name"])} — {verdict}</h2>'
            f'<p>{e(r.get("description", ""))}</p>'
            f'<p>steps: <code>{e(" | ".join(r.get("steps", [])))}</code></p>'
            f'<p>{_links(report_dir, r["name"])}</p>'
            + (f"<ul>{extra}</ul>" if extra else "") +
            f'<pre>{e(_read(report_dir / r["name"] / "dmacheck.txt", DMACHECK_INLINE_BYTES))}'
            f'</pre></section>')
    (report_dir / "index.html").write_text(
        "<!doctype html><meta charset=utf-8><title>tracenic nightly</title>"
        "<style>body{font-family:sans-serif;margin:1em 2em}td,th{padding:3px 8px;"
        "border-bottom:1px solid #ddd;text-align:left}.bad{background:#fdd}.ok{background:#efe}"
        "pre{background:#f6f6f6;padding:6px;overflow-x:auto;font-size:85%}</style>"
        f"<h1>tracenic nightly: {summary['passed']} passed, {summary['failed']} failed</h1>"
        f"<p>{e(str(meta.get('started', '')))} · accelerator {e(str(meta.get('accel', '?')))}"
        f" · {e(str(meta.get('jobs', '?')))} at a time on {e(str(meta.get('host_cpus', '?')))}"
        f" CPUs · {e(str(meta.get('seconds', '?')))} s · "
        f"shard {e(str(meta.get('shard', '1/1')))}</p>"
        f"<p>Timelines: open a scenario's <i>Perfetto timeline</i> in "
        f'<a href="{PERFETTO}">{PERFETTO}</a> (Open trace file).</p>'
        "<table><tr><th>scenario</th><th>machine</th><th>expected</th><th>dmacheck said</th>"
        "<th>verdict</th><th>s</th></tr>" + "".join(rows) + "</table>"
        + _sweep_html(summary.get("sweep")) + "".join(details) + "\n")
